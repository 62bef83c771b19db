# protos.cmake - protobuf-c code and the embedded descriptor set.
#
# Produces:
#   dspb          static library: protobuf-c code of every .proto the binaries
#                 use, plus ds_descset (the serialized FileDescriptorSet with
#                 imports and source info, for reflection, streaming flags and
#                 dropshipctl --help).
#   ${DS_GEN_DIR} include directory of the generated headers.
#   ${DS_DESCSET} path of the descriptor set file.

set(DS_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
set(DS_PROTO_DIR ${CMAKE_SOURCE_DIR}/proto)
file(MAKE_DIRECTORY ${DS_GEN_DIR})

file(GLOB DS_API_PROTOS RELATIVE ${DS_PROTO_DIR} CONFIGURE_DEPENDS ${DS_PROTO_DIR}/dropship/v1/*.proto)
list(SORT DS_API_PROTOS)
set(DS_OWN_PROTOS ${DS_API_PROTOS} google/rpc/status.proto google/rpc/error_details.proto)
set(DS_GRPC_PROTOS
    grpc/health/v1/health.proto
    grpc/reflection/v1/reflection.proto
    grpc/reflection/v1alpha/reflection.proto)
set(DS_WKT_PROTOS
    google/protobuf/any.proto
    google/protobuf/descriptor.proto
    google/protobuf/duration.proto
    google/protobuf/field_mask.proto
    google/protobuf/timestamp.proto)

set(DS_PROTOC_INCLUDES -I${DS_PROTO_DIR} -I${DROPSHIP_GRPC_PROTO_DIR} -I${DROPSHIP_WKT_DIR})

set(DS_PB_SOURCES)
set(DS_PB_ALL_INPUTS)
function(ds_protoc_c rel abs)
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  set(out_c ${DS_GEN_DIR}/${stem}.pb-c.c)
  set(out_h ${DS_GEN_DIR}/${stem}.pb-c.h)
  add_custom_command(
    OUTPUT ${out_c} ${out_h}
    COMMAND ${PROTOC_C} ${DS_PROTOC_INCLUDES} --c_out=${DS_GEN_DIR} ${abs}
    DEPENDS ${abs}
    COMMENT "protoc-c ${rel}"
    VERBATIM)
  set(DS_PB_SOURCES ${DS_PB_SOURCES} ${out_c} PARENT_SCOPE)
endfunction()

foreach(p ${DS_OWN_PROTOS})
  ds_protoc_c(${p} ${DS_PROTO_DIR}/${p})
  list(APPEND DS_PB_ALL_INPUTS ${DS_PROTO_DIR}/${p})
endforeach()
foreach(p ${DS_GRPC_PROTOS})
  ds_protoc_c(${p} ${DROPSHIP_GRPC_PROTO_DIR}/${p})
  list(APPEND DS_PB_ALL_INPUTS ${DROPSHIP_GRPC_PROTO_DIR}/${p})
endforeach()
foreach(p ${DS_WKT_PROTOS})
  ds_protoc_c(${p} ${DROPSHIP_WKT_DIR}/${p})
endforeach()

# The descriptor set served by reflection: the API, the standard services and
# everything they import, with comments (source info) for dropshipctl --help.
set(DS_DESCSET ${DS_GEN_DIR}/dropship.desc)
set(DS_DESCSET_C ${DS_GEN_DIR}/ds_descset.c)
set(DS_DESCSET_INPUTS ${DS_API_PROTOS} google/rpc/status.proto google/rpc/error_details.proto ${DS_GRPC_PROTOS})
add_custom_command(
  OUTPUT ${DS_DESCSET}
  COMMAND ${PROTOC} ${DS_PROTOC_INCLUDES} --include_imports --include_source_info
          --descriptor_set_out=${DS_DESCSET} ${DS_DESCSET_INPUTS}
  DEPENDS ${DS_PB_ALL_INPUTS}
  COMMENT "protoc descriptor set"
  VERBATIM)
add_custom_command(
  OUTPUT ${DS_DESCSET_C}
  COMMAND ${CMAKE_COMMAND} -DIN=${DS_DESCSET} -DOUT=${DS_DESCSET_C} -DSYM=ds_descset
          -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${DS_DESCSET} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  COMMENT "embed descriptor set"
  VERBATIM)

add_library(dspb STATIC ${DS_PB_SOURCES} ${DS_DESCSET_C})
target_include_directories(dspb PUBLIC ${DS_GEN_DIR} ${CMAKE_SOURCE_DIR}/server/common)
target_link_libraries(dspb PUBLIC PkgConfig::PROTOBUFC)
target_compile_options(dspb PRIVATE -Wno-shadow -Wno-strict-prototypes)
include(cmake/pbreg.cmake)
