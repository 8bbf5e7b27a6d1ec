#pragma once
// A one-line transfer progress display on stderr, shown only when stderr is a
// terminal: schedulers capture logs, and \r-redrawn bars only clutter them.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "registry/copy.hpp"

namespace envbuild::cli {

class ProgressBar : public registry::TransferObserver {
 public:
  // `enabled` false makes every call a no-op (not a TTY, --json, --quiet).
  ProgressBar(const char* label, bool enabled);
  ~ProgressBar() override;

  void planned(size_t blob_count, uint64_t total_bytes) override;
  void transferred(uint64_t bytes) override;
  void blob_done(const registry::Descriptor& blob, registry::BlobAction action) override;
  // For sources that count bytes themselves (conda downloads): sets the
  // bytes done and the total, and draws without a blob count.
  void set_bytes(uint64_t done, uint64_t total);
  // Clears the line; called before printing the result.
  void finish();

  // True when stderr is a terminal and TERM is not "dumb".
  static bool stderr_is_tty();

 private:
  void draw(bool force);
  const char* label_;
  bool enabled_;
  std::mutex mutex_;
  size_t blobs_total_ = 0;
  size_t blobs_done_ = 0;
  uint64_t bytes_total_ = 0;
  uint64_t bytes_done_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace envbuild::cli
