#include "lb-client/http_answer.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

// fn's error body: {"message":"..."} and a newline, JSON-escaped minimally (quotes,
// backslashes and control characters; the message is the runner's text).
std::string ErrorBody(absl::string_view message) {
  std::string out = "{\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  out += "\"}\n";
  return out;
}

HttpAnswer Error(int status, absl::string_view message, HeaderList headers = {}) {
  HttpAnswer answer;
  answer.status = status;
  answer.headers = std::move(headers);
  answer.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  answer.body = ErrorBody(message);
  return answer;
}

}  // namespace

void BufferingSink::OnStart(int status, const HeaderList& headers) {
  if (status > 0) status_ = status;
  // fn adds every result_start header to the user's response at once.
  headers_.insert(headers_.end(), headers.begin(), headers.end());
}

void BufferingSink::OnData(absl::string_view data) { body_.append(data.data(), data.size()); }

HttpAnswer LbAnswer(const PlacementResult& result, const BufferingSink& sink,
                    absl::string_view call_id) {
  HttpAnswer answer;
  if (!result.placed) {
    answer = Error(503, kServerTooBusy);
    answer.headers.emplace_back("Retry-After", "15");
  } else if (result.status.ok()) {
    answer.status = sink.status() > 0 ? sink.status() : 200;
    answer.headers = sink.headers();
    answer.body = sink.body();
  } else if (result.finished.has_value() && !result.finished->success()) {
    // The runner's error; output already streamed is discarded, its headers stay.
    const int code = result.fn_error_code;
    answer = Error(code == 0 ? 200 : code, result.status.message(), sink.headers());
  } else if (result.status.code() == absl::StatusCode::kDeadlineExceeded) {
    answer = Error(500, "Unable to service the request for the reservation period");
  } else {
    answer = Error(500, "internal server error");
  }
  std::erase_if(answer.headers,
                [](const auto& h) { return absl::EqualsIgnoreCase(h.first, "Content-Length"); });
  answer.headers.emplace_back("Content-Length", absl::StrCat(answer.body.size()));
  answer.headers.emplace_back("Fn-Call-Id", std::string(call_id));
  return answer;
}

}  // namespace fnrunner
