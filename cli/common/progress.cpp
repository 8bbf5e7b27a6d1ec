#include "cli/common/progress.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "registry/byte_units.hpp"

namespace envbuild::cli {

ProgressBar::ProgressBar(const char* label, bool enabled) : label_(label), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

bool ProgressBar::stderr_is_tty() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDERR_FILENO) == 1 && !(term && std::strcmp(term, "dumb") == 0);
}

void ProgressBar::planned(size_t blob_count, uint64_t total_bytes) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  blobs_total_ = blob_count;
  bytes_total_ = total_bytes;
  draw(true);
}

void ProgressBar::transferred(uint64_t bytes) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  bytes_done_ += bytes;
  draw(false);
}

void ProgressBar::blob_done(const registry::Descriptor&, registry::BlobAction) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  ++blobs_done_;
  draw(true);
}

void ProgressBar::set_bytes(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  bytes_done_ = done;
  bytes_total_ = total;
  draw(done == total);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  if (drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

void ProgressBar::draw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  uint64_t done = bytes_done_ < bytes_total_ ? bytes_done_ : bytes_total_;
  int filled = bytes_total_ ? static_cast<int>(kWidth * done / bytes_total_) : kWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  const std::string blobs = blobs_total_ ? "  " + std::to_string(blobs_done_) + "/" +
                                               std::to_string(blobs_total_) + " blobs"
                                         : "";
  std::fprintf(stderr, "\r\033[K%s [%s]%s  %s / %s", label_, bar.c_str(), blobs.c_str(),
               registry::format_bytes(done).c_str(), registry::format_bytes(bytes_total_).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace envbuild::cli
