#include "os/listen_socket.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <unistd.h>

namespace cservice::os {
namespace {

TEST(EndpointTest, ParsesEveryForm) {
  auto port = parse_endpoint("8080");
  ASSERT_TRUE(port);
  EXPECT_EQ(port->port, 8080);
  EXPECT_TRUE(port->host.empty());
  EXPECT_EQ(port->name, "listen");

  auto named = parse_endpoint("http=127.0.0.1:80");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->name, "http");
  EXPECT_EQ(named->host, "127.0.0.1");

  auto v6 = parse_endpoint("[::1]:9");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");

  auto unix_socket = parse_endpoint("api=unix:/run/app.sock");
  ASSERT_TRUE(unix_socket);
  EXPECT_EQ(unix_socket->kind, Endpoint::Kind::Unix);
  EXPECT_EQ(unix_socket->path, "/run/app.sock");
}

TEST(EndpointTest, RejectsBadForms) {
  for (const char* bad : {"", "http", "65536", "host:", ":80", "::1:80", "[::1:80", "a:b=1:2",
                          "unix:", "x y=80"}) {
    EXPECT_FALSE(parse_endpoint(bad)) << bad;
  }
}

TEST(ListenSocketTest, PortZeroReportsTheRealPort) {
  auto socket = ListenSocket::open(*parse_endpoint("127.0.0.1:0"));
  ASSERT_TRUE(socket) << socket.error().message;
  EXPECT_GT(socket->port(), 0);
  EXPECT_EQ(socket->address(), "127.0.0.1:" + std::to_string(socket->port()));
}

TEST(ListenSocketTest, PortInUseIsAnError) {
  auto first = ListenSocket::open(*parse_endpoint("127.0.0.1:0"));
  ASSERT_TRUE(first);
  auto second = ListenSocket::open(*parse_endpoint("127.0.0.1:" + std::to_string(first->port())));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code.value(), EADDRINUSE);
  EXPECT_EQ(second.error().message,
            "listen 127.0.0.1:" + std::to_string(first->port()) + ": Address already in use");
}

TEST(ListenSocketTest, UnixSocketIsRemovedAndStaleOneReplaced) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("cservice-test-" + std::to_string(::getpid()) + ".sock"))
                               .string();
  {
    auto socket = ListenSocket::open(*parse_endpoint("unix:" + path));
    ASSERT_TRUE(socket) << socket.error().message;
    auto busy = ListenSocket::open(*parse_endpoint("unix:" + path));
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code.value(), EADDRINUSE);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace cservice::os
