#pragma once

// Helpers shared by the runner's tests: fn call JSON, ClientMsgs, and a recording
// EngageStream for driving an EngageSession without gRPC.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/runner.pb.h"
#include "runner/engage_session.h"

namespace fnrunner::testing {

// A compact fn call model; `extra` is spliced in as more fields (",\"type\":\"detached\"").
inline std::string CallJson(absl::string_view id = "call-1", absl::string_view image = "img",
                            absl::string_view extra = "") {
  return absl::StrCat(R"({"id":")", id, R"(","image":")", image,
                      R"(","timeout":30,"idle_timeout":30,"memory":128,"app_id":"a","fn_id":"f")",
                      extra, "}");
}

inline ClientMsg TryMsg(const std::string& json, const std::string& slot_hash_id = "") {
  ClientMsg msg;
  msg.mutable_try_()->set_models_call_json(json);
  msg.mutable_try_()->set_slot_hash_id(slot_hash_id);
  return msg;
}

inline ClientMsg FrameMsg(absl::string_view data, bool eof) {
  ClientMsg msg;
  msg.mutable_data()->set_data(std::string(data));
  msg.mutable_data()->set_eof(eof);
  return msg;
}

// Records what an EngageSession sends. Thread-safe.
class RecordingStream final : public EngageStream {
 public:
  void Send(RunnerMsg msg, bool more_follows) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (end_) return;  // As the reactor: nothing goes out once the end was asked for.
    sent_.push_back(std::move(msg));
    held_ = more_follows;
  }
  bool WaitForRoom() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // The reactor writes nothing while a message is held for its follower: waiting for room
    // then could wait forever.
    if (held_) ADD_FAILURE() << "WaitForRoom() while a message waits for its follower";
    return !end_ && room_;
  }
  void ReadNext() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!end_) ++reads_;
  }
  void End(absl::Status status) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!end_) end_ = std::move(status);
    held_ = false;
  }

  // WaitForRoom() answers false from now on (the stream is full and ending).
  void RefuseRoom() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    room_ = false;
  }
  std::vector<RunnerMsg> sent() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return sent_;
  }
  int reads() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return reads_;
  }
  std::optional<absl::Status> end() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return end_;
  }
  // Block until the count of requested reads reaches `n` / the end was asked for.
  bool WaitForReads(int n, absl::Duration timeout = absl::Seconds(10)) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return reads_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(10)) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return end_.has_value(); };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

 private:
  absl::Mutex mu_;
  std::vector<RunnerMsg> sent_ ABSL_GUARDED_BY(mu_);
  bool held_ ABSL_GUARDED_BY(mu_) = false;  // the last Send() had more_follows
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  bool room_ ABSL_GUARDED_BY(mu_) = true;
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner::testing
