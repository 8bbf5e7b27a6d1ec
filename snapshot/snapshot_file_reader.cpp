#include "snapshot/snapshot_file_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "registry/error.hpp"
#include "snapshot/file_read.hpp"

namespace envbuild::snapshot {

SnapshotFileReader::SnapshotFileReader(const std::filesystem::path& root, const std::string& rel,
                                       registry::Digest expected, uint64_t expected_size)
    : display_((root / rel).string()),
      expected_(std::move(expected)),
      expected_size_(expected_size) {
  const UniqueFd root_fd = open_root(root);
  fd_ = open_beneath(root_fd.get(), rel, display_);
}

void SnapshotFileReader::changed() const {
  throw Error(ErrorKind::BadInput,
              display_ + " changed while the snapshot was being taken; run the push again");
}

void SnapshotFileReader::verify_end() {
  // At the expected end the file must end too, with the hashed bytes.
  char extra = 0;
  if (::pread(fd_.get(), &extra, 1, static_cast<off_t>(pos_)) != 0) changed();
  if (hashing_) {
    hashing_ = false;
    if (hasher_.finish() != expected_) changed();
  }
}

size_t SnapshotFileReader::read(char* buf, size_t n) {
  if (pos_ == expected_size_) {
    verify_end();  // also covers an empty read after a seek to the end
    return 0;
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(n, expected_size_ - pos_));
  ssize_t got;
  do {
    got = ::pread(fd_.get(), buf, want, static_cast<off_t>(pos_));
  } while (got < 0 && errno == EINTR);
  if (got < 0)
    throw Error(ErrorKind::BadInput, display_ + ": read failed: " + std::strerror(errno));
  if (got == 0) changed();  // shorter than hashed
  if (hashing_) hasher_.update(buf, static_cast<size_t>(got));
  pos_ += static_cast<uint64_t>(got);
  // Checked as soon as the last byte is handed out: a store may stop reading
  // at the descriptor's size without asking for more.
  if (pos_ == expected_size_) verify_end();
  return static_cast<size_t>(got);
}

void SnapshotFileReader::seek(uint64_t offset) {
  pos_ = std::min(offset, expected_size_);
  hasher_ = registry::Hasher();
  hashing_ = pos_ == 0;
}

}  // namespace envbuild::snapshot
