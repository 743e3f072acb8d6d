// TLS and mutual TLS (FN_NODE_CERT, FN_NODE_CERT_KEY, FN_NODE_CERT_AUTHORITY) with throwaway
// certificates made by the openssl CLI; skipped when openssl is not installed.

#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runner/grpc_test_util.h"
#include "runner/server.h"

// LeakSanitizer reads this at exit. gRPC frees OpenSSL's handshake objects (peer certificates,
// sessions) on its own threads after channels and servers are gone; rarely a process exits
// before that finishes and LSan reports allocations made inside libcrypto, whose stacks it
// cannot unwind past (no frame pointers). fn-runner never calls OpenSSL itself, so only
// gRPC's TLS internals are hidden by this.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }

namespace fnrunner {
namespace {

using ::fnrunner::testing::TestRunner;
using ::fnrunner::testing::TestRunnerOptions;

class TlsGrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) return;
    char tmpl[] = "/tmp/fn-runner-test-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = new std::string(tmpl);
    // A CA, a server certificate for 127.0.0.1, a client certificate from the same CA and one
    // from an unrelated CA. EC keys: fast to make.
    const std::string script = absl::StrCat(
        "set -e; cd ", *dir_, "; ",
        "key() { openssl ecparam -name prime256v1 -genkey -noout -out $1.key; }; ",
        "ca() { key $1; openssl req -x509 -new -key $1.key -out $1.pem -days 2 "
        "-subj /CN=$1; }; ",
        "leaf() { key $1; openssl req -new -key $1.key -out $1.csr -subj /CN=$1; "
        "printf \"$3\" > $1.ext; openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key "
        "-CAcreateserial -out $1.pem -days 2 -extfile $1.ext; }; ",
        "ca ca; ca other; ",
        "leaf server ca 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth'; ",
        "leaf client ca 'extendedKeyUsage=clientAuth'; ",
        "leaf stranger other 'extendedKeyUsage=clientAuth'; ",
        ") >/dev/null 2>&1");
    made_ = std::system(absl::StrCat("(", script).c_str()) == 0;
  }

  static void TearDownTestSuite() {
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    // scripts/setup.sh installs openssl: a missing CLI is a broken setup, not a reason to skip.
    if (!made_) FAIL() << "openssl CLI not available: cannot make test certificates";
  }

  static std::string Pem(const std::string& name) {
    absl::StatusOr<std::string> pem = ReadPemFile(absl::StrCat(*dir_, "/", name), name);
    EXPECT_TRUE(pem.ok()) << pem.status();
    return pem.ok() ? *pem : "";
  }

  static TestRunnerOptions TlsOptions(bool mutual) {
    TestRunnerOptions options;
    options.server.tls_cert_chain = Pem("server.pem");
    options.server.tls_private_key = Pem("server.key");
    if (mutual) options.server.tls_client_ca = Pem("ca.pem");
    return options;
  }

  // Calls Status over a TLS channel presenting `client` ("" = no client certificate).
  static grpc::StatusCode StatusOverTls(TestRunner& runner, const std::string& client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Pem("ca.pem");
    if (!client.empty()) {
      ssl.pem_private_key = Pem(client + ".key");
      ssl.pem_cert_chain = Pem(client + ".pem");
    }
    auto stub = RunnerProtocol::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", runner.port()), grpc::SslCredentials(ssl)));
    return Call(*stub);
  }

  static grpc::StatusCode Call(RunnerProtocol::Stub& stub) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    RunnerStatus status;
    return stub.Status(&context, google::protobuf::Empty(), &status).error_code();
  }

  static inline std::string* dir_ = nullptr;
  static inline bool made_ = false;
};

TEST_F(TlsGrpcTest, ServesTls) {
  TestRunner runner(TlsOptions(/*mutual=*/false));

  EXPECT_EQ(StatusOverTls(runner, ""), grpc::StatusCode::OK);
}

TEST_F(TlsGrpcTest, TlsRefusesPlaintextClients) {
  TestRunner runner(TlsOptions(/*mutual=*/false));
  auto stub = runner.Stub();  // insecure channel

  EXPECT_EQ(Call(*stub), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsGrpcTest, MutualTlsAcceptsClientsOfItsCa) {
  TestRunner runner(TlsOptions(/*mutual=*/true));

  EXPECT_EQ(StatusOverTls(runner, "client"), grpc::StatusCode::OK);
}

TEST_F(TlsGrpcTest, MutualTlsRefusesClientsWithoutACertificate) {
  TestRunner runner(TlsOptions(/*mutual=*/true));

  EXPECT_EQ(StatusOverTls(runner, ""), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsGrpcTest, MutualTlsRefusesClientsOfAnotherCa) {
  TestRunner runner(TlsOptions(/*mutual=*/true));

  EXPECT_EQ(StatusOverTls(runner, "stranger"), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace fnrunner
