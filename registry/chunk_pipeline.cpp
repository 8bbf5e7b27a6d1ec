#include "registry/chunk_pipeline.hpp"

namespace envbuild::registry {

ChunkPipeline::ChunkPipeline(size_t workers, Transform transform, Deliver deliver)
    : transform_(std::move(transform)),
      deliver_(std::move(deliver)),
      max_in_flight_(2 * (workers == 0 ? 1 : workers)) {
  if (workers == 0) workers = 1;
  threads_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { work(i); });
}

ChunkPipeline::~ChunkPipeline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ChunkPipeline::work(size_t index) {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || next_unclaimed_ < jobs_.size(); });
    if (stopping_) return;
    // Deque references stay valid while other jobs are appended at the back
    // and only delivered (finished) jobs are popped from the front.
    Job& job = jobs_[next_unclaimed_++];
    lock.unlock();
    std::exception_ptr failure;
    try {
      if (!error_) transform_(index, job.in, job.out);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (failure && !error_) error_ = failure;
    job.in.clear();
    job.in.shrink_to_fit();
    job.done = true;
    job_done_.notify_all();
  }
}

void ChunkPipeline::deliver_ready(std::unique_lock<std::mutex>& lock, bool wait_for_all) {
  while (!jobs_.empty()) {
    if (!jobs_.front().done) {
      if (!wait_for_all && jobs_.size() < max_in_flight_) return;
      job_done_.wait(lock, [&] { return jobs_.front().done; });
    }
    if (error_) std::rethrow_exception(error_);
    std::string out = std::move(jobs_.front().out);
    jobs_.pop_front();
    --next_unclaimed_;
    lock.unlock();
    deliver_(out);
    lock.lock();
  }
  if (error_) std::rethrow_exception(error_);
}

void ChunkPipeline::submit(std::string chunk) {
  std::unique_lock lock(mutex_);
  deliver_ready(lock, false);
  jobs_.push_back(Job{std::move(chunk), {}, false});
  lock.unlock();
  work_ready_.notify_one();
}

void ChunkPipeline::finish() {
  std::unique_lock lock(mutex_);
  deliver_ready(lock, true);
}

}  // namespace envbuild::registry
