// RunnerClient over TLS and mutual TLS, against a fake runner with throwaway certificates made
// by the openssl CLI (skipped when openssl is not installed).

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lb-client/runner_client.h"
#include "lb-client/testing/fake_runner.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

// gRPC frees OpenSSL's handshake objects on its own threads after channels and servers are
// gone; a process may exit first and LeakSanitizer then reports libcrypto allocations it cannot
// unwind (the runner's TLS test has the same suppression).
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }

namespace fnrunner {
namespace {

using ::fnrunner::testing::FakeRunner;
using ::fnrunner::testing::FakeRunnerOptions;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) return;
    absl::StatusOr<TempDir> dir = TempDir::Create();
    if (!dir.ok()) return;
    dir_ = new TempDir(*std::move(dir));
    // A CA, a server certificate for 127.0.0.1 and localhost, a client certificate from the
    // same CA, and an unrelated CA. EC keys: quick to make.
    const std::string script = absl::StrCat(
        "(set -e; cd ", dir_->path(), "; ",
        "key() { openssl ecparam -name prime256v1 -genkey -noout -out $1.key; }; ",
        "ca() { key $1; openssl req -x509 -new -key $1.key -out $1.pem -days 2 -subj /CN=$1; }; ",
        "leaf() { key $1; openssl req -new -key $1.key -out $1.csr -subj /CN=$1; ",
        "printf \"$3\" > $1.ext; openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key ",
        "-CAcreateserial -out $1.pem -days 2 -extfile $1.ext; }; ",
        "ca ca; ca other; ",
        "leaf server ca 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth'; ",
        "leaf client ca 'extendedKeyUsage=clientAuth'; ",
        ") >/dev/null 2>&1");
    made_ = std::system(script.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    // scripts/setup.sh installs openssl: a missing CLI is a broken setup, not a reason to skip.
    if (!made_) FAIL() << "openssl CLI not available: cannot make test certificates";
  }

  static std::string Pem(const std::string& name) {
    std::ifstream in(dir_->Join(name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // A TLS fake runner; with `mutual`, clients must present a certificate from our CA.
  static std::unique_ptr<FakeRunner> Runner(bool mutual) {
    FakeRunnerOptions options;
    options.tls_cert_chain = Pem("server.pem");
    options.tls_private_key = Pem("server.key");
    if (mutual) options.tls_client_ca = Pem("ca.pem");
    auto runner = std::make_unique<FakeRunner>(options);
    EXPECT_THAT(runner->Start(), IsOk());
    return runner;
  }

  static absl::Status StatusVia(const FakeRunner& runner, const ChannelOptions& options) {
    auto client = RunnerClient::Create(runner.address(), options);
    if (!client.ok()) return client.status();
    return (*client)->Status(absl::Seconds(10)).status();
  }

  static ChannelOptions Tls(const std::string& ca = "ca.pem") {
    ChannelOptions options;
    options.tls = true;
    options.tls_root_certs_pem = Pem(ca);
    return options;
  }

  static TempDir* dir_;
  static bool made_;
};

TempDir* TlsTest::dir_ = nullptr;
bool TlsTest::made_ = false;

TEST_F(TlsTest, TalksTlsToARunnerItsCaSigned) {
  auto runner = Runner(/*mutual=*/false);

  EXPECT_THAT(StatusVia(*runner, Tls()), IsOk());
}

TEST_F(TlsTest, RefusesARunnerSignedByAnotherCa) {
  auto runner = Runner(/*mutual=*/false);

  EXPECT_THAT(StatusVia(*runner, Tls("other.pem")), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, VerifiesUnderAnOverriddenServerName) {
  auto runner = Runner(/*mutual=*/false);
  ChannelOptions good = Tls();
  good.tls_server_name = "localhost";
  ChannelOptions bad = Tls();
  bad.tls_server_name = "elsewhere.example";

  EXPECT_THAT(StatusVia(*runner, good), IsOk());
  EXPECT_THAT(StatusVia(*runner, bad), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, MutualTlsNeedsOurClientCertificate) {
  auto runner = Runner(/*mutual=*/true);
  ChannelOptions with_cert = Tls();
  with_cert.tls_client_cert_pem = Pem("client.pem");
  with_cert.tls_client_key_pem = Pem("client.key");

  EXPECT_THAT(StatusVia(*runner, with_cert), IsOk());
  EXPECT_THAT(StatusVia(*runner, Tls()), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, APlaintextClientCannotTalkToATlsRunner) {
  auto runner = Runner(/*mutual=*/false);

  EXPECT_THAT(StatusVia(*runner, ChannelOptions()), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace fnrunner
