#include "tests/runner/engage_client.h"

#include <algorithm>
#include <chrono>

#include "nlohmann/json.hpp"

namespace fnrunner::testing {

std::string CallJson(const TestCall& call) {
  nlohmann::json j;
  j["id"] = call.id;
  j["app_id"] = "app";
  j["app_name"] = "app";
  j["fn_id"] = call.fn_id;
  j["image"] = call.image;
  j["type"] = "sync";
  j["timeout"] = call.timeout_s;
  j["idle_timeout"] = call.idle_timeout_s;
  j["memory"] = call.memory_mb;
  nlohmann::json config = nlohmann::json::object();
  config["FN_APP_ID"] = "app";
  config["FN_FN_ID"] = call.fn_id;
  config["FN_MEMORY"] = std::to_string(call.memory_mb);
  config["FN_TYPE"] = "sync";
  for (const auto& [k, v] : call.config) config[k] = v;
  j["config"] = config;
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : call.headers) headers[k] = v;
  j["headers"] = headers;
  j["method"] = "POST";
  j["url"] = "http://localhost:8080/invoke/" + call.fn_id;
  j["created_at"] = "2026-01-01T00:00:00.000Z";
  return j.dump();
}

EngageOutcome Engage(RunnerProtocol::Stub& stub, const std::string& call_json,
                     const std::string& body, bool send_eof, int deadline_s) {
  EngageOutcome out;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_s));
  std::unique_ptr<grpc::ClientReaderWriter<ClientMsg, RunnerMsg>> stream = stub.Engage(&context);

  ClientMsg try_msg;
  try_msg.mutable_try_()->set_models_call_json(call_json);
  stream->Write(try_msg);
  constexpr size_t kFrame = 10240;  // fn's LB reads the body in 10 KiB pieces
  for (size_t at = 0; at < body.size(); at += kFrame) {
    ClientMsg data;
    data.mutable_data()->set_data(body.substr(at, std::min(kFrame, body.size() - at)));
    if (!stream->Write(data)) break;
  }
  if (send_eof) {
    ClientMsg eof;
    eof.mutable_data()->set_eof(true);  // fn's LB always ends with an empty eof frame
    stream->Write(eof);
  }
  RunnerMsg msg;
  while (stream->Read(&msg)) {
    out.messages.push_back(msg);
    switch (msg.body_case()) {
      case RunnerMsg::kResultStart:
        out.has_result_start = true;
        out.http_status = msg.result_start().http().status_code();
        out.headers.assign(msg.result_start().http().headers().begin(),
                           msg.result_start().http().headers().end());
        break;
      case RunnerMsg::kData:
        out.body += msg.data().data();
        out.frame_sizes.push_back(msg.data().data().size());
        break;
      case RunnerMsg::kFinished:
        out.finished = true;
        out.finish = msg.finished();
        break;
      case RunnerMsg::BODY_NOT_SET:
        break;
    }
  }
  // fn's LB never half-closes; once the runner has ended the stream, Finish collects it, and
  // the LB then cancels the stream (RST_STREAM), as we do.
  out.status = stream->Finish();
  context.TryCancel();
  return out;
}

}  // namespace fnrunner::testing
