#pragma once

// fn's call errors as the LB sees them: an HTTP-style code, fn's exact message, and whether it
// is the function's fault. ../shared/spec/agent-and-docker-driver.md §9 is the catalogue.

#include <string>
#include <utility>

namespace fnrunner {

struct FnError {
  int code = 0;              // fn's errorCode; 0 for internal errors, as fn sends them
  std::string message;       // fn's errorStr, byte for byte
  bool user_error = false;   // the function's fault (metrics tag only)
  friend bool operator==(const FnError&, const FnError&) = default;
};

namespace fn_errors {

inline FnError ServerBusy() { return {503, "Timed out - server too busy", false}; }
inline FnError CallTimeout() { return {504, "Timed out", true}; }
inline FnError ResourceTooBig() {
  return {400, "Requested CPU/Memory cannot be allocated", false};
}
inline FnError ContainerInitFail() {
  return {502,
          "Container failed to initialize, please ensure you are using the latest fdk and check "
          "the logs",
          true};
}
inline FnError ContainerInitTimeout() {
  return {504,
          "Container initialization timed out, please ensure you are using the latest fdk and "
          "check the logs",
          true};
}
inline FnError PullTimeout() { return {504, "Image pull timed out", true}; }
inline FnError FunctionResponse() { return {502, "error receiving function response", true}; }
inline FnError FunctionFailed() { return {502, "function failed", true}; }
inline FnError InvalidResponse() { return {502, "invalid function response", true}; }
inline FnError ResponseTooBig() { return {502, "function response body too large", true}; }
inline FnError ResponseHeadersTooBig() { return {502, "function response header too large", true}; }
inline FnError PrematureWrite() {
  return {502, "function invoked write before receiving entire request", true};
}
inline FnError ClosedPipe() {
  return {502, "function closed pipe while receiving request", true};
}
inline FnError ImageWithVolume() { return {400, "image has Volume definition", false}; }
// fn answers 500 "internal server error" for raw engine/OS errors; on the wire that is
// errorCode 0 with the error text, which the LB shows as a JSON error body.
inline FnError Internal(std::string message) { return {0, std::move(message), false}; }

}  // namespace fn_errors
}  // namespace fnrunner
