#include "runner/server.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/health_check_service_interface.h"

namespace fnrunner {

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view variable) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(absl::StrCat(variable, ": cannot read \"", path, "\""));
  }
  if (text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": \"", path, "\" is missing or empty"));
  }
  return text.str();
}

absl::StatusOr<StartedServer> StartGrpcServer(const GrpcServerOptions& options,
                                             const std::vector<grpc::Service*>& services) {
  // gRPC's process-wide switch for the servers built from now on; idempotent.
  grpc::EnableDefaultHealthCheckService(true);
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.tls_cert_chain.empty()) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions ssl(
        options.tls_client_ca.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = options.tls_client_ca;
    ssl.pem_key_cert_pairs.push_back({options.tls_private_key, options.tls_cert_chain});
    credentials = grpc::SslServerCredentials(ssl);
  }
  StartedServer started;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, credentials, &started.port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // fn's LB pings idle connections every 60 s; gRPC's defaults would answer with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", options.listen_address));
  }
  SetServing(*started.server, true);
  return started;
}

void SetServing(grpc::Server& server, bool serving) {
  if (grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService()) {
    health->SetServingStatus("RunnerProtocol", serving);
    health->SetServingStatus(serving);
  }
}

}  // namespace fnrunner
