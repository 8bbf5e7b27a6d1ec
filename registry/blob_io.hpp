#pragma once
// Pull-based blob streams. Every reader is seekable so an upload can restart
// from the beginning after a failed attempt.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "registry/digest.hpp"

namespace envbuild::registry {

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Reads up to n bytes; returns 0 at end of stream. Throws Error on failure.
  virtual size_t read(char* buf, size_t n) = 0;
  // Repositions to an absolute offset from the start.
  virtual void seek(uint64_t offset) = 0;
  // Total size in bytes.
  virtual uint64_t size() const = 0;
};

// Reads a file; the file is opened once and kept open.
class FileBlobReader : public BlobReader {
 public:
  explicit FileBlobReader(const std::filesystem::path& path);
  ~FileBlobReader() override;
  size_t read(char* buf, size_t n) override;
  void seek(uint64_t offset) override;
  uint64_t size() const override { return size_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

class MemoryBlobReader : public BlobReader {
 public:
  explicit MemoryBlobReader(std::string data) : data_(std::move(data)) {}
  size_t read(char* buf, size_t n) override;
  void seek(uint64_t offset) override { pos_ = offset > data_.size() ? data_.size() : offset; }
  uint64_t size() const override { return data_.size(); }

 private:
  std::string data_;
  uint64_t pos_ = 0;
};

// Wraps a reader and checks, when the end is reached after reading from
// offset 0, that the bytes match `expected` (digest and size). A mismatch
// throws Error(BadInput) naming the digest, so no caller ever consumes
// unverified content without being told.
class VerifyingReader : public BlobReader {
 public:
  VerifyingReader(std::unique_ptr<BlobReader> inner, Digest expected, int64_t expected_size);
  size_t read(char* buf, size_t n) override;
  void seek(uint64_t offset) override;
  uint64_t size() const override { return inner_->size(); }

 private:
  std::unique_ptr<BlobReader> inner_;
  Digest expected_;
  int64_t expected_size_;
  Hasher hasher_;
  bool hashing_ = true;
  bool verified_ = false;
};

// Reads a whole reader into a string (bounded: throws past max_bytes).
std::string read_all(BlobReader& reader, uint64_t max_bytes);

}  // namespace envbuild::registry
