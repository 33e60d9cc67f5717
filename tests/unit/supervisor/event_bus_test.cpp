#include "supervisor/event_bus.hpp"

#include <gtest/gtest.h>

namespace cservice::supervisor {
namespace {

TEST(EventBusTest, NamedSubscribersGetTheirEventsAndAllGetEverything) {
  EventBus bus;
  std::vector<std::string> seen;
  bus.subscribe([&](const Event& e) { seen.push_back("all:" + e.name); });
  bus.subscribe("jobDone", [&](const Event& e) { seen.push_back("named:" + e.data.dump()); });
  EXPECT_EQ(bus.subscribers_of("jobDone"), 1u);
  EXPECT_EQ(bus.subscribers_of("workerStart"), 0u) << "subscribers of every event do not count";
  bus.publish({"workerStart", {{"pid", 1}}});
  bus.publish({"jobDone", nlohmann::json::array({17})});
  EXPECT_EQ(seen, (std::vector<std::string>{"all:workerStart", "all:jobDone", "named:[17]"}));
}

}  // namespace
}  // namespace cservice::supervisor
