/* ds_pbreg.h - registry of every generated protobuf-c descriptor.
 *
 * The tables are generated at build time (cmake/pbreg.cmake) from the
 * protobuf-c headers of every .proto compiled into dspb: messages (nested
 * ones and map entries included), enums and services. Lookup is by full
 * proto name, with or without the leading dot ("dropship.v1.Order",
 * ".dropship.v1.Order").
 *
 * Link: the tables live in dspb; anything that calls these functions links
 * dspb after ds_common. Ownership: every returned descriptor is static
 * storage. Threads: read-only, any thread; no initialisation needed.
 */
#ifndef DS_PBREG_H
#define DS_PBREG_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

/* Descriptor of the message `full_name`, or NULL if unknown or NULL. */
const ProtobufCMessageDescriptor *ds_pbreg_message(const char *full_name);

/* Descriptor of the enum `full_name`, or NULL. */
const ProtobufCEnumDescriptor *ds_pbreg_enum(const char *full_name);

/* Descriptor of the service `full_name` ("grpc.health.v1.Health"), or NULL. */
const ProtobufCServiceDescriptor *ds_pbreg_service(const char *full_name);

/* Message descriptor named by an Any type URL: the part after the last '/'
 * ("type.googleapis.com/google.rpc.BadRequest"). NULL if unknown. */
const ProtobufCMessageDescriptor *ds_pbreg_message_by_type_url(const char *type_url);

/* Number of registered services, and service i (0 <= i < count, else NULL),
 * in the order of the generated headers. */
size_t ds_pbreg_service_count(void);
const ProtobufCServiceDescriptor *ds_pbreg_service_at(size_t i);

/* Number of registered messages, and message i (else NULL). */
size_t ds_pbreg_message_count(void);
const ProtobufCMessageDescriptor *ds_pbreg_message_at(size_t i);

#endif
