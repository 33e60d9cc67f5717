// The hello worker's half of zero downtime: on the stop signal it stops accepting, answers the
// next request of a keep-alive connection with "Connection: close", closes idle connections,
// and exits 0, while the master's socket keeps accepting for the others.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <csignal>

namespace cservice::testing {
namespace {

class DrainTest : public IntegrationTest {};

TEST_F(DrainTest, KeepAliveConnectionGetsConnectionCloseThenWorkerExits) {
  auto& service = start({"--workers", "1", "--listen", "127.0.0.1:0", hello_worker_binary()});
  const int port = service.listen_port();
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the hello worker ready"));

  KeepAliveConnection busy;
  ASSERT_TRUE(busy.connect("127.0.0.1", port));
  const auto first = busy.get();
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->keep_alive);
  KeepAliveConnection idle;
  ASSERT_TRUE(idle.connect("127.0.0.1", port));
  ASSERT_TRUE(idle.get());

  service.signal(SIGTERM);
  ASSERT_TRUE(service.wait_for("hello_worker: draining 2 idle connection", 5s,
                               "the worker starting its drain"));
  // The next request on a kept-alive connection is still answered, with Connection: close.
  const auto last = busy.get();
  ASSERT_TRUE(last) << "a request on a keep-alive connection failed during the drain";
  EXPECT_EQ(last->status, 200);
  EXPECT_FALSE(last->keep_alive);
  EXPECT_EQ(last->body, first->body);
  EXPECT_TRUE(busy.closed_by_server(5s));
  // A connection that stays idle is closed by the worker (after its drain idle time).
  EXPECT_TRUE(idle.closed_by_server(5s));
  EXPECT_EQ(service.wait_exit(10s), 0);
  EXPECT_EQ(service.count(R"("reason":"shutdown","status":"exit 0")"), 1u);
}

}  // namespace
}  // namespace cservice::testing
