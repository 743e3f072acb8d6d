#pragma once

// A test client for one Engage stream, the way fn's LB drives it: TryCall, the body in
// 10 KiB frames ending with an eof frame, then everything the runner sends until it ends the
// stream.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/runner.grpc.pb.h"

namespace fnrunner::testing {

// What fn's LB would put in models_call_json for a call to the FDK test function.
struct TestCall {
  std::string id;
  std::string fn_id = "fn";
  std::string image = "fn-test/fdk:latest";
  int timeout_s = 30;
  int idle_timeout_s = 30;
  int memory_mb = 64;
  std::map<std::string, std::string> config;
  std::map<std::string, std::vector<std::string>> headers;
};
std::string CallJson(const TestCall& call);

struct EngageOutcome {
  std::vector<RunnerMsg> messages;        // in arrival order
  grpc::Status status;                    // how the runner ended the stream
  bool has_result_start = false;
  int http_status = 0;
  std::vector<HttpHeader> headers;
  std::string body;                       // the data frames, concatenated
  std::vector<size_t> frame_sizes;
  bool finished = false;
  CallFinished finish;
};

// Runs one call to the end (bounded by `deadline_s`). With `send_eof` false the body is sent
// without its eof frame and the stream stays open until the runner ends it.
EngageOutcome Engage(RunnerProtocol::Stub& stub, const std::string& call_json,
                     const std::string& body, bool send_eof = true, int deadline_s = 60);

}  // namespace fnrunner::testing
