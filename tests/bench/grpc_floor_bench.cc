// The cost of gRPC alone on this machine: an Engage-shaped exchange (client: TryCall, one
// DataFrame with eof; server: CallResultStart, one DataFrame, CallFinished, status OK) between
// two processes over loopback, with no agent, no function and no JSON. Each of gRPC's three C++
// server APIs can serve it, so the runner's choice of API can be weighed by measurement.
//
//   grpc_floor_bench serve --api=callback|async|sync --port=N [--threads=1] [--handoff=true]
//   grpc_floor_bench ping --target=127.0.0.1:N [--seconds=10] [--warmup=2] [--concurrency=1]
//                         [--call-json=MODEL]
//
// `ping` runs a closed loop of sync-API clients (as `fnlb bench`) and prints one JSON line
// with the fields of `fnlb bench --json` that runner_bench.sh reads: calls, calls_per_second,
// latency_ms {p50, p99, max}, errors_by_status. --handoff=true starts each reply from another
// thread, the one crossing fn-runner's design adds (the agent answers from its exchange thread).
// --api=async polls its completion queues on --threads threads of its own.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/runner.grpc.pb.h"

namespace {

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

// The response every API sends, built once.
struct Replies {
  RunnerMsg start, data, finished;
  Replies() {
    auto* http = start.mutable_result_start()->mutable_http();
    http->set_status_code(200);
    auto* h = http->add_headers();
    h->set_key("Content-Type");
    h->set_value("application/octet-stream");
    data.mutable_data()->set_data(std::string(64, 'x'));
    finished.mutable_finished()->set_success(true);
    finished.mutable_finished()->set_details("01ABCDEFGHJKMNPQRSTVWXYZ00");
  }
};
const Replies& TheReplies() {
  static const Replies* replies = new Replies;
  return *replies;
}

// With --handoff, the first reply is started from this other thread, as fn-runner's agent
// answers from the thread that exchanged with the function: one more thread crossing.
class Handoff {
 public:
  static Handoff* Get() {
    static Handoff* handoff = new Handoff;
    return handoff;
  }
  static bool enabled;
  void Post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
    cv_.notify_one();
  }

 private:
  Handoff() {
    std::thread([this] {
      while (true) {
        std::function<void()> task;
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [this] { return !queue_.empty(); });
          task = std::move(queue_.front());
          queue_.pop_front();
        }
        task();
      }
    }).detach();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};
bool Handoff::enabled = false;

void MaybeHandoff(std::function<void()> task) {
  if (Handoff::enabled) return Handoff::Get()->Post(std::move(task));
  task();
}

// ---- callback API: what fn-runner uses ----
class CallbackEngage : public grpc::ServerBidiReactor<ClientMsg, RunnerMsg> {
 public:
  CallbackEngage() { StartRead(&in_); }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no eof"));
    if (in_.has_data() && in_.data().eof()) {
      step_ = 1;
      return MaybeHandoff([this] { StartWrite(&TheReplies().start); });
    }
    StartRead(&in_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    if (step_++ == 1) return StartWrite(&TheReplies().data);
    StartWriteAndFinish(&TheReplies().finished, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  ClientMsg in_;
  int step_ = 0;
};

class CallbackService : public RunnerProtocol::CallbackService {
  grpc::ServerBidiReactor<ClientMsg, RunnerMsg>* Engage(grpc::CallbackServerContext*) override {
    return new CallbackEngage;
  }
};

// ---- sync API: a thread per stream from gRPC's pool ----
class SyncService : public RunnerProtocol::Service {
  grpc::Status Engage(grpc::ServerContext*,
                      grpc::ServerReaderWriter<RunnerMsg, ClientMsg>* stream) override {
    ClientMsg in;
    while (stream->Read(&in)) {
      if (in.has_data() && in.data().eof()) break;
    }
    stream->Write(TheReplies().start);
    stream->Write(TheReplies().data);
    stream->WriteLast(TheReplies().finished, grpc::WriteOptions());
    return grpc::Status::OK;
  }
};

// ---- async API: our threads drive completion queues ----
class AsyncEngage {
 public:
  AsyncEngage(RunnerProtocol::AsyncService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), stream_(&ctx_) {
    service_->RequestEngage(&ctx_, &stream_, cq_, cq_, this);
  }
  void Proceed(bool ok) {
    switch (state_) {
      case kRequested:
        new AsyncEngage(service_, cq_);
        if (!ok) return delete this;
        state_ = kReading;
        return stream_.Read(&in_, this);
      case kReading:
        if (!ok) {
          state_ = kDone;
          return stream_.Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no eof"), this);
        }
        if (in_.has_data() && in_.data().eof()) {
          state_ = kWroteStart;
          return MaybeHandoff([this] { stream_.Write(TheReplies().start, this); });
        }
        return stream_.Read(&in_, this);
      case kWroteStart:
        state_ = kWroteData;
        return stream_.Write(TheReplies().data, this);
      case kWroteData:
        state_ = kDone;
        return stream_.WriteAndFinish(TheReplies().finished, grpc::WriteOptions(),
                                      grpc::Status::OK, this);
      case kDone:
        return delete this;
    }
  }

 private:
  enum State { kRequested, kReading, kWroteStart, kWroteData, kDone };
  RunnerProtocol::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<RunnerMsg, ClientMsg> stream_;
  ClientMsg in_;
  State state_ = kRequested;
};

int Serve(int argc, char** argv) {
  const std::string api = Flag(argc, argv, "api", "callback");
  const std::string port = Flag(argc, argv, "port", "9190");
  const int threads = std::atoi(Flag(argc, argv, "threads", "1").c_str());
  Handoff::enabled = Flag(argc, argv, "handoff", "false") == "true";
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + port, grpc::InsecureServerCredentials());
  CallbackService callback_service;
  SyncService sync_service;
  RunnerProtocol::AsyncService async_service;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  if (api == "callback") {
    builder.RegisterService(&callback_service);
  } else if (api == "sync") {
    builder.RegisterService(&sync_service);
  } else if (api == "async") {
    builder.RegisterService(&async_service);
    for (int i = 0; i < threads; ++i) cqs.push_back(builder.AddCompletionQueue());
  } else {
    std::fprintf(stderr, "unknown --api=%s\n", api.c_str());
    return 2;
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return 1;
  std::vector<std::thread> pollers;
  for (auto& cq : cqs) {
    grpc::ServerCompletionQueue* q = cq.get();
    pollers.emplace_back([&async_service, q] {
      for (int i = 0; i < 4; ++i) new AsyncEngage(&async_service, q);
      void* tag;
      bool ok;
      while (q->Next(&tag, &ok)) static_cast<AsyncEngage*>(tag)->Proceed(ok);
    });
  }
  server->Wait();
  return 0;
}

int Ping(int argc, char** argv) {
  const std::string target = Flag(argc, argv, "target", "127.0.0.1:9190");
  const double seconds = std::atof(Flag(argc, argv, "seconds", "10").c_str());
  const int concurrency = std::atoi(Flag(argc, argv, "concurrency", "1").c_str());
  const double warmup = std::atof(Flag(argc, argv, "warmup", "2").c_str());
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = RunnerProtocol::NewStub(channel);
  ClientMsg try_call, body;
  // --call-json sends a real call model (to time a real runner with this lean client);
  // otherwise 600 bytes stand in for one.
  try_call.mutable_try_()->set_models_call_json(
      Flag(argc, argv, "call-json", std::string(600, 'j')));
  body.mutable_data()->set_data(std::string(64, 'b'));
  body.mutable_data()->set_eof(true);
  using Clock = std::chrono::steady_clock;
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(concurrency);
  std::atomic<long> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      while (!stop.load()) {
        const auto t0 = Clock::now();
        grpc::ClientContext ctx;
        auto stream = stub->Engage(&ctx);
        stream->Write(try_call, grpc::WriteOptions().set_buffer_hint());
        stream->WriteLast(body, grpc::WriteOptions());
        RunnerMsg reply;
        int replies = 0;
        while (stream->Read(&reply)) ++replies;
        if (!stream->Finish().ok() || replies != 3) ++errors;
        if (measuring.load()) {
          latencies[w].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));  // connection, allocators
  measuring = true;
  const auto begin = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  stop = true;
  for (auto& t : workers) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  if (all.empty()) return 1;
  std::printf(
      "{\"calls\": %zu, \"calls_per_second\": %.1f, \"latency_ms\": {\"p50\": %.4f, "
      "\"p99\": %.4f, \"max\": %.4f}, \"errors_by_status\": {%s}}\n",
      all.size(), all.size() / elapsed, all[all.size() / 2], all[all.size() * 99 / 100],
      all.back(), errors.load() == 0 ? "" : ("\"failed\": " + std::to_string(errors.load())).c_str());
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve") return Serve(argc, argv);
  if (mode == "ping") return Ping(argc, argv);
  std::fprintf(stderr, "usage: %s serve|ping [flags]\n", argv[0]);
  return 2;
}
