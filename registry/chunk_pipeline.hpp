#pragma once
// Runs one transformation over a stream cut into chunks on a few threads and
// delivers the results in input order. Used to compress layers on every core
// while the output stays a pure function of the input: each chunk's result
// depends only on its own bytes, never on which thread ran it.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace envbuild::registry {

class ChunkPipeline {
 public:
  // transform(worker_index, input, output) runs on worker threads;
  // deliver(output) runs on the submitting thread, in submission order.
  using Transform = std::function<void(size_t worker, const std::string& in, std::string& out)>;
  using Deliver = std::function<void(const std::string& out)>;

  ChunkPipeline(size_t workers, Transform transform, Deliver deliver);
  ~ChunkPipeline();
  ChunkPipeline(const ChunkPipeline&) = delete;
  ChunkPipeline& operator=(const ChunkPipeline&) = delete;

  // Queues a chunk; blocks (delivering finished results) while too many
  // chunks are in flight, which bounds memory to a few chunks per worker.
  void submit(std::string chunk);
  // Waits for every chunk and delivers the rest. Rethrows a worker's error.
  void finish();

 private:
  struct Job {
    std::string in;
    std::string out;
    bool done = false;
  };
  void work(size_t index);
  void deliver_ready(std::unique_lock<std::mutex>& lock, bool wait_for_all);

  Transform transform_;
  Deliver deliver_;
  size_t max_in_flight_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  std::deque<Job> jobs_;       // in submission order; front is delivered first
  size_t next_unclaimed_ = 0;  // index into jobs_ of the first job no worker took
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace envbuild::registry
