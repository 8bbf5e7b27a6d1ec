#include "snapshot/stat_cache_format.hpp"

#include <xxhash.h>

#include <array>
#include <cstring>

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

// `text` is scratch space reused across entries (one allocation per load).
bool sha_from_bytes(std::string_view raw, std::string& text, registry::Digest& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  text.assign("sha256:");
  for (char c : raw) {
    auto b = static_cast<unsigned char>(c);
    text.push_back(kHex[b >> 4]);
    text.push_back(kHex[b & 0xf]);
  }
  return registry::Digest::try_parse(text, out);
}

}  // namespace

std::string encode_stat_cache(int64_t written_at_ns,
                              const std::unordered_map<std::string, CachedFile>& entries,
                              const std::map<std::string, std::string>& notes) {
  Writer w;
  w.out().reserve(64 + entries.size() * (kMinEntryBytes + 48));
  w.bytes(kMagic);
  w.u32(kStatCacheVersion);
  w.i64(written_at_ns);
  // Only SHA-256 addresses fit the fixed-size slot; anything else is not
  // worth caching, so it is left out rather than written corrupt.
  auto storable = [](const CachedFile& f) { return f.sha256.algorithm() == "sha256"; };
  uint64_t count = 0;
  for (const auto& [path, f] : entries) count += storable(f) && !path.empty() ? 1 : 0;
  w.u64(count);
  for (const auto& [path, f] : entries) {
    if (!storable(f) || path.empty()) continue;
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
  std::string sha_text;
  sha_text.reserve(7 + 2 * kShaBytes);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view path = r.text();
    if (!r.ok() || path.empty()) return std::nullopt;
    // A repeated path keeps its last record, as a map assignment would.
    CachedFile& f = c.entries.try_emplace(std::string(path)).first->second;
    f.size = r.u64();
    f.mtime_ns = r.i64();
    f.ctime_ns = r.i64();
    f.inode = r.u64();
    std::string_view xxh = r.bytes(f.xxh3.size());
    std::string_view sha = r.bytes(kShaBytes);
    if (!r.ok()) return std::nullopt;
    std::memcpy(f.xxh3.data(), xxh.data(), f.xxh3.size());
    if (!sha_from_bytes(sha, sha_text, f.sha256)) return std::nullopt;
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
