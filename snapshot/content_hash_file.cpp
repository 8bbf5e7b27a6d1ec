#include "snapshot/content_hash_file.hpp"

#include <time.h>
#include <xxhash.h>

#include <cstring>
#include <memory>
#include <optional>

#include "registry/error.hpp"

namespace envbuild::snapshot {

namespace {

struct XxhStateDeleter {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

struct Pass {
  Xxh128 xxh3{};
  std::optional<registry::Digest> sha256;
  uint64_t bytes = 0;
};

Pass read_pass(int fd, uint64_t size, bool with_sha, const std::string& display) {
  std::unique_ptr<XXH3_state_t, XxhStateDeleter> state(XXH3_createState());
  if (!state || XXH3_128bits_reset(state.get()) != XXH_OK) {
    throw Error(ErrorKind::Internal, "cannot allocate an XXH3 state for " + display);
  }
  std::optional<registry::Hasher> sha;
  if (with_sha) sha.emplace();
  Pass pass;
  pass.bytes = read_all(fd, size, kReadChunk, display, [&](const char* data, size_t n) {
    XXH3_128bits_update(state.get(), data, n);
    if (sha) sha->update(data, n);
  });
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state.get()));
  std::memcpy(pass.xxh3.data(), canonical.digest, pass.xxh3.size());
  if (sha) pass.sha256 = sha->finish();
  return pass;
}

// The bytes read belong to one version of the file only if nothing that a
// write changes moved meanwhile and the read saw exactly `size` bytes.
bool unchanged(int fd, const FileStat& before, uint64_t bytes_read, const std::string& display) {
  FileStat after = stat_open_file(fd, display);
  return bytes_read == before.size && after.size == before.size &&
         after.mtime_ns == before.mtime_ns && after.ctime_ns == before.ctime_ns;
}

int64_t coarse_now_ns() {
  // File timestamps are taken from the coarse clock, so compare with it.
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

FileHash hash_file(int root_fd, const std::string& rel, const std::string& display,
                   const CachedFile* previous) {
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    int64_t started_ns = coarse_now_ns();
    UniqueFd fd = open_beneath(root_fd, rel, display);
    FileStat before = stat_open_file(fd.get(), display);
    if (!S_ISREG(before.mode)) {
      throw Error(ErrorKind::BadInput, display + " is no longer a regular file");
    }
    // Same size as before: the bytes likely did not change, and XXH3 alone
    // (several times cheaper than SHA-256) proves it.
    bool xxh3_first = previous != nullptr && previous->size == before.size;
    Pass pass = read_pass(fd.get(), before.size, !xxh3_first, display);
    if (!unchanged(fd.get(), before, pass.bytes, display)) continue;
    FileHash result;
    result.stat = before;
    result.racy = before.mtime_ns >= started_ns;
    result.bytes_read = pass.bytes;
    if (xxh3_first && pass.xxh3 == previous->xxh3) {
      result.xxh3 = pass.xxh3;
      result.sha256 = previous->sha256;
      result.sha_reused = true;
      return result;
    }
    if (xxh3_first) {
      Pass full = read_pass(fd.get(), before.size, true, display);
      result.bytes_read += full.bytes;
      if (!unchanged(fd.get(), before, full.bytes, display) || full.xxh3 != pass.xxh3) continue;
      pass = std::move(full);
    }
    result.xxh3 = pass.xxh3;
    result.sha256 = std::move(*pass.sha256);
    return result;
  }
  throw Error(ErrorKind::BadInput, display + " keeps changing while being read");
}

}  // namespace envbuild::snapshot
