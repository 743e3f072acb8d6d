#pragma once

// What fn's LB answers its HTTP client after placement (runner-protocol.md §9.5).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "lb-client/placer.h"
#include "lb-client/runner_client.h"

namespace fnrunner {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Buffers the committed attempt's response, as fn's LB does before answering. Used by one
// placement at a time.
class BufferingSink final : public ResponseSink {
 public:
  void OnStart(int status, const HeaderList& headers) override;
  void OnData(absl::string_view data) override;

  int status() const { return status_; }
  const HeaderList& headers() const { return headers_; }
  const std::string& body() const { return body_; }

 private:
  int status_ = 0;
  HeaderList headers_;
  std::string body_;
};

struct HttpAnswer {
  int status = 0;
  HeaderList headers;
  std::string body;
};

// fn's LB answer for `result`, with the response `sink` buffered:
//   success: the runner's status (200 if it sent none), its headers, the body;
//   committed failure with errorCode c: c (fn's quirk: 200 when c is 0) and
//     {"message":"<errorStr>"}\n as application/json, the runner's headers kept;
//   nothing committed: 503 {"message":"Timed out - server too busy"} with Retry-After: 15;
//   our deadline passed after placement began: 500 "Unable to service the request for the
//     reservation period"; any other stream failure: 500 "internal server error".
// Every answer carries Fn-Call-Id: `call_id`, and Content-Length.
HttpAnswer LbAnswer(const PlacementResult& result, const BufferingSink& sink,
                    absl::string_view call_id);

}  // namespace fnrunner
