// greeter_server - reference peer for bench/unary.sh: a minimal synchronous
// C++ gRPC server of helloworld.Greeter/SayHello, default thread settings.
// Usage: greeter_server PORT   (listens on 127.0.0.1:PORT, plaintext)
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "helloworld.grpc.pb.h"

namespace {

class GreeterImpl final : public helloworld::Greeter::Service {
    grpc::Status SayHello(grpc::ServerContext *, const helloworld::HelloRequest *req,
                          helloworld::HelloReply *reply) override {
        reply->set_message("Hello " + req->name());
        return grpc::Status::OK;
    }
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: greeter_server PORT\n";
        return 2;
    }
    std::string addr = std::string("127.0.0.1:") + argv[1];
    GreeterImpl service;
    int bound = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &bound);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || bound == 0) {
        std::cerr << "greeter_server: cannot listen on " << addr << "\n";
        return 1;
    }
    std::cerr << "greeter_server listening on 127.0.0.1:" << bound << std::endl;
    server->Wait();
    return 0;
}
