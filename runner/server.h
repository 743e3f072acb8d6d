#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace fnrunner {

struct GrpcServerOptions {
  std::string listen_address = "0.0.0.0:9190";  // host:port; port 0 picks a free one
  int max_receive_message_bytes = 16 << 20;
  // TLS, as PEM text. No certificate: plaintext (fn: "insecure mode"). A client CA: mutual
  // TLS, every client must present a certificate it signed.
  std::string tls_cert_chain;
  std::string tls_private_key;
  std::string tls_client_ca;
};

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the port actually bound
};

// Reads a PEM file for TLS. InvalidArgument naming `variable` if it cannot be read or is
// empty.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view variable);

// Builds and starts the gRPC server for `services` (not owned; they must outlive the server)
// with fn's connection settings
// (runner-protocol.md §8): client keepalive pings allowed without calls and as often as every
// 5 s with no strikes, server pings after 60 s idle with a 10 s timeout, the receive limit, and
// the standard grpc.health.v1 service (SERVING until SetServing(false)). Unavailable if the
// address cannot be bound.
absl::StatusOr<StartedServer> StartGrpcServer(const GrpcServerOptions& options,
                                             const std::vector<grpc::Service*>& services);

// Flips every service's health status (NOT_SERVING while draining).
void SetServing(grpc::Server& server, bool serving);

}  // namespace fnrunner
