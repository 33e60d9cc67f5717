#pragma once
namespace cservice::app {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace cservice::app
