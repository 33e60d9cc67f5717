// HTTPS for the REST API and the CLI (`ssl`, --ssl-key/--ssl-cert, --ca, --url), against the
// real binary. The certificates are made for each test with the openssl command, in its temp
// directory: a CA, a server certificate it signs for localhost and 127.0.0.1, and another CA.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>

namespace cservice::testing {
namespace {

constexpr const char* kKey = "https-key-9d4e";

class HttpsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (!CSERVICE_TLS_BUILT) GTEST_SKIP() << "built without CSERVICE_TLS";
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    ASSERT_TRUE(openssl("req -x509 " + ec + " -keyout " + path("ca.key") + " -out " +
                        path("ca.pem") + " -subj /CN=cservice-test-ca"));
    ASSERT_TRUE(openssl("req -x509 " + ec + " -keyout " + path("server.key") + " -out " +
                        path("server.pem") + " -subj /CN=localhost -CA " + path("ca.pem") +
                        " -CAkey " + path("ca.key") +
                        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
                        " -addext basicConstraints=critical,CA:FALSE"));
    ASSERT_TRUE(openssl("req -x509 " + ec + " -keyout " + path("other-ca.key") + " -out " +
                        path("other-ca.pem") + " -subj /CN=another-ca"));
  }

  std::string path(const std::string& name) const { return temp_dir() + "/" + name; }

  static bool openssl(const std::string& args) {
    return std::system(("openssl " + args + " >/dev/null 2>&1").c_str()) == 0;
  }

  ServiceProcess& start_service() {
    auto& service = start({"--workers", "1", "--ready", "started", "--access-key", kKey,
                           "--host", "127.0.0.1", "--port", "0", "--ssl-key", path("server.key"),
                           "--ssl-cert", path("server.pem"), test_worker_binary()});
    port_ = std::to_string(service.api_port());
    EXPECT_EQ(service.count("control: REST API on https://127.0.0.1:"), 1u) << service.output();
    return service;
  }

  // Runs the CLI with `args` and the key; expects exit status `status`.
  ServiceProcess& cli(std::vector<std::string> args, int status) {
    args.insert(args.end(), {"--access-key", kKey});
    auto& run = start(args);
    EXPECT_EQ(run.wait_exit(10s), status) << run.output();
    return run;
  }

  void stop(ServiceProcess& service) {
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0);
  }

  std::string port_;
};

TEST_F(HttpsTest, TheApiAnswersOverTlsAndTheCliTalksToItTrustingItsCa) {
  auto& service = start_service();
  auto& by_host = cli({"version", "--host", "127.0.0.1", "--port", port_, "--ca", path("ca.pem"),
                       "--json"},
                      0);
  EXPECT_EQ(nlohmann::json::parse(by_host.output())["version"], "0.1.0") << by_host.output();
  auto& by_url = cli({"workers", "--url", "https://localhost:" + port_, "--ca", path("ca.pem")}, 0);
  EXPECT_TRUE(by_url.wait_for(R"("state": "ready")", 1s, "the workers"));
  stop(service);
}

TEST_F(HttpsTest, PlainHttpToTheTlsPortFailsCleanly) {
  auto& service = start_service();
  const auto plain = http_request("POST", "127.0.0.1", std::stoi(port_), "/cli?cmd=version",
                                  std::string("Bearer ") + kKey);
  ASSERT_TRUE(plain) << "no answer to plain HTTP";
  EXPECT_EQ(plain->status, 400);
  EXPECT_EQ(plain->body, "this service speaks HTTPS: use an https URL");

  auto& run = cli({"version", "--host", "127.0.0.1", "--port", port_}, 1);
  EXPECT_TRUE(run.wait_for("error: this service speaks HTTPS", 1s, "why plain HTTP failed"));
  cli({"version", "--host", "127.0.0.1", "--port", port_, "--ca", path("ca.pem")}, 0);
  stop(service);
}

TEST_F(HttpsTest, ACertificateFromAnotherCaIsRefusedWithAClearError) {
  auto& service = start_service();
  auto& other = cli({"version", "--url", "https://127.0.0.1:" + port_, "--ca",
                     path("other-ca.pem")},
                    1);
  EXPECT_TRUE(other.wait_for("control 127.0.0.1:" + port_ +
                                 ": the service's certificate is not trusted: unable to get "
                                 "local issuer certificate \\(give the CA that signed it with "
                                 "--ca FILE\\)",
                             1s, "the refusal"));
  EXPECT_EQ(other.count(kKey), 0u);
  // The system's store does not know our test CA either.
  auto& system = cli({"version", "--url", "https://127.0.0.1:" + port_}, 1);
  EXPECT_TRUE(system.wait_for("certificate is not trusted", 1s, "the refusal"));
  stop(service);
}

TEST_F(HttpsTest, ASecondServeWithTheSameSslBecomesAConsoleForTheFirst) {
  auto& first = start_service();
  auto& second = start({"--workers", "3", "--access-key", kKey, "--host", "127.0.0.1", "--port",
                        port_, "--ssl-key", path("server.key"), "--ssl-cert", path("server.pem"),
                        test_worker_binary()},
                       {}, {}, ServiceProcess::Stdin::Pipe);
  second.write_stdin("version\n");
  second.close_stdin();
  EXPECT_EQ(second.wait_exit(10s), 0) << second.output();
  EXPECT_EQ(second.count("this is a console for it"), 1u) << second.output();
  EXPECT_EQ(second.count(R"("version": "0.1.0")"), 1u) << second.output();
  stop(first);
}

TEST_F(HttpsTest, AUrlThatIsNotHttpOrHttpsIsAUsageError) {
  auto& run = cli({"version", "--url", "ftp://127.0.0.1:1"}, 2);
  EXPECT_TRUE(run.wait_for("bad --url 'ftp://127.0.0.1:1': the scheme must be http or https", 1s,
                           "the usage error"));
}

TEST_F(HttpsTest, ABadKeyOrCertificateIsAClearStartupError) {
  const auto refused = [&](const std::string& key, const std::string& cert,
                           const std::string& expected) {
    auto& service = start({"--access-key", kKey, "--host", "127.0.0.1", "--port", "0",
                           "--ssl-key", key, "--ssl-cert", cert, test_worker_binary()});
    EXPECT_EQ(service.wait_exit(10s), 2) << service.output();
    EXPECT_TRUE(service.wait_for("^cservice: " + expected, 1s, expected)) << service.output();
    EXPECT_NE(service.output().find(" error cservice: "), std::string::npos)  // the level
        << service.output();
    EXPECT_EQ(service.count("starting"), 0u) << "a worker started";
  };
  refused(path("server.key"), path("missing.pem"),
          "ssl cert " + path("missing.pem") + ": No such file or directory");
  refused(path("other-ca.key"), path("server.pem"),
          "ssl key " + path("other-ca.key") + ": not the PEM private key of ssl cert " +
              path("server.pem") + ": key values mismatch");
  refused(path("server.key"), path("server.key"),
          "ssl cert " + path("server.key") + ": not a usable PEM certificate");
}

}  // namespace
}  // namespace cservice::testing
