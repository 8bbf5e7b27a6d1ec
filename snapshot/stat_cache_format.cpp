#include "snapshot/stat_cache_format.hpp"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace envbuild::snapshot {

namespace {

constexpr std::string_view kMagic = "EBSTATC\n";
constexpr size_t kShaBytes = 32;
// path length + size + mtime + ctime + inode + xxh3 + sha256
constexpr size_t kMinEntryBytes = 4 + 8 + 8 + 8 + 8 + 16 + kShaBytes;
constexpr size_t kMinNoteBytes = 4 + 4;

class Writer {
 public:
  void bytes(std::string_view b) { out_.append(b); }
  void u32(uint32_t v) { little_endian(v, 4); }
  void u64(uint64_t v) { little_endian(v, 8); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void text(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(s);
  }
  std::string& out() { return out_; }

 private:
  void little_endian(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Every read checks the bytes left first; `ok()` turns false for good at the
// first overrun and later reads return zeros.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  size_t left() const { return in_.size() - pos_; }
  std::string_view bytes(size_t n) {
    if (!ok_ || n > left()) {
      ok_ = false;
      return {};
    }
    std::string_view b = in_.substr(pos_, n);
    pos_ += n;
    return b;
  }
  uint32_t u32() { return static_cast<uint32_t>(little_endian(4)); }
  uint64_t u64() { return little_endian(8); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string_view text() { return bytes(u32()); }

 private:
  uint64_t little_endian(size_t n) {
    std::string_view b = bytes(n);
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i)
      v |= uint64_t{static_cast<unsigned char>(b[i])} << (8 * i);
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::array<unsigned char, kShaBytes> sha_bytes(const registry::Digest& d) {
  std::array<unsigned char, kShaBytes> raw{};
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  const std::string& hex = d.hex();
  for (size_t i = 0; i < kShaBytes && 2 * i + 1 < hex.size(); ++i) {
    raw[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return raw;
}

}  // namespace

void sort_keeping_last(StatCacheEntries& entries) {
  // Stable, so among records of one path the last one ends up last.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  StatCacheEntries unique;
  unique.reserve(entries.size());
  for (auto& e : entries) {
    if (!unique.empty() && unique.back().first == e.first)
      unique.back() = std::move(e);
    else
      unique.push_back(std::move(e));
  }
  entries = std::move(unique);
}

std::string encode_stat_cache(int64_t written_at_ns, const StatCacheEntries& entries,
                              const std::map<std::string, std::string>& notes) {
  Writer w;
  w.out().reserve(64 + entries.size() * (kMinEntryBytes + 48));
  w.bytes(kMagic);
  w.u32(kStatCacheVersion);
  w.i64(written_at_ns);
  // Only SHA-256 addresses fit the fixed-size slot; anything else is not
  // worth caching, so it is left out rather than written corrupt.
  auto storable = [](const CachedFile& f) { return f.sha256.algorithm() == "sha256"; };
  std::vector<const std::pair<std::string, CachedFile>*> kept;
  kept.reserve(entries.size());
  for (const auto& e : entries)
    if (storable(e.second) && !e.first.empty()) kept.push_back(&e);
  std::stable_sort(kept.begin(), kept.end(), [](auto* a, auto* b) { return a->first < b->first; });
  w.u64(kept.size());
  for (const auto* e : kept) {
    const auto& [path, f] = *e;
    w.text(path);
    w.u64(f.size);
    w.i64(f.mtime_ns);
    w.i64(f.ctime_ns);
    w.u64(f.inode);
    w.bytes(std::string_view(reinterpret_cast<const char*>(f.xxh3.data()), f.xxh3.size()));
    auto raw = sha_bytes(f.sha256);
    w.bytes(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  }
  w.u64(notes.size());
  for (const auto& [key, value] : notes) {
    w.text(key);
    w.text(value);
  }
  w.u64(XXH3_64bits(w.out().data(), w.out().size()));
  return std::move(w.out());
}

std::optional<StatCacheContents> decode_stat_cache(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 4 + 8 + 8 + 8 + 8 || bytes.size() > kMaxStatCacheBytes) {
    return std::nullopt;
  }
  std::string_view body = bytes.substr(0, bytes.size() - 8);
  if (Reader(bytes.substr(body.size())).u64() != XXH3_64bits(body.data(), body.size())) {
    return std::nullopt;
  }
  Reader r(body);
  if (r.bytes(kMagic.size()) != kMagic || r.u32() != kStatCacheVersion) return std::nullopt;
  StatCacheContents c;
  c.written_at_ns = r.i64();
  uint64_t count = r.u64();
  if (!r.ok() || count > r.left() / kMinEntryBytes) return std::nullopt;
  c.entries.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view path = r.text();
    if (!r.ok() || path.empty()) return std::nullopt;
    // Version 2 writes paths sorted and unique; lookups rely on it.
    if (!c.entries.empty() && !(c.entries.back().first < path)) return std::nullopt;
    CachedFile& f = c.entries.emplace_back(std::string(path), CachedFile{}).second;
    f.size = r.u64();
    f.mtime_ns = r.i64();
    f.ctime_ns = r.i64();
    f.inode = r.u64();
    std::string_view xxh = r.bytes(f.xxh3.size());
    std::string_view sha = r.bytes(kShaBytes);
    if (!r.ok()) return std::nullopt;
    std::memcpy(f.xxh3.data(), xxh.data(), f.xxh3.size());
    f.sha256 =
        registry::Digest::sha256_from_bytes(reinterpret_cast<const unsigned char*>(sha.data()));
  }
  uint64_t note_count = r.u64();
  if (!r.ok() || note_count > r.left() / kMinNoteBytes) return std::nullopt;
  for (uint64_t i = 0; i < note_count; ++i) {
    std::string_view key = r.text();
    std::string_view value = r.text();
    if (!r.ok()) return std::nullopt;
    c.notes.insert_or_assign(std::string(key), std::string(value));
  }
  if (r.left() != 0) return std::nullopt;  // trailing bytes: not a file we wrote
  return c;
}

}  // namespace envbuild::snapshot
