#include "snapshot/tree_memo.hpp"

#include <xxhash.h>

#include <cstring>
#include <sstream>

#include "registry/media_types.hpp"
#include "snapshot/cache_file.hpp"
#include "snapshot/snapshot_format.hpp"
#include "snapshot/stat_cache.hpp"

namespace envbuild::snapshot {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHeader = "tree-memo v1";
constexpr size_t kMaxChunks = 1'000'000;
constexpr uint64_t kMaxMemoBytes = uint64_t{256} << 20;

// Feeds XXH3 through a small buffer: one update call per few hundred
// entries, and no allocation the size of the walk.
class Fingerprinter {
 public:
  Fingerprinter() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
  ~Fingerprinter() { XXH3_freeState(state_); }
  Fingerprinter(const Fingerprinter&) = delete;
  Fingerprinter& operator=(const Fingerprinter&) = delete;

  void u64(uint64_t v) { bytes(&v, sizeof v); }
  void text(const std::string& s) {
    u64(s.size());  // length first: no two entry lists hash alike by shifting bytes
    bytes(s.data(), s.size());
  }
  XXH128_hash_t finish() {
    flush();
    return XXH3_128bits_digest(state_);
  }

 private:
  void bytes(const void* data, size_t n) {
    if (used_ + n > sizeof buf_) {
      flush();
      if (n > sizeof buf_) {
        XXH3_128bits_update(state_, data, n);
        return;
      }
    }
    std::memcpy(buf_ + used_, data, n);
    used_ += n;
  }
  void flush() {
    XXH3_128bits_update(state_, buf_, used_);
    used_ = 0;
  }
  XXH3_state_t* state_;
  char buf_[16 * 1024];
  size_t used_ = 0;
};

}  // namespace

std::string walk_fingerprint(const WalkResult& walk) {
  Fingerprinter f;
  f.u64(walk.entries.size());
  for (const SourceEntry& e : walk.entries) {
    f.text(e.path);
    f.u64(static_cast<uint64_t>(e.type));
    f.u64(e.mode);
    f.u64(e.size);
    f.u64(static_cast<uint64_t>(e.mtime_ns));
    f.u64(static_cast<uint64_t>(e.ctime_ns));
    f.u64(e.inode);
    f.text(e.link_target);
  }
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, f.finish());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : canonical.digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

bool has_racy_file(const WalkResult& walk, int64_t written_at_ns) {
  for (const SourceEntry& e : walk.entries) {
    if (e.type == EntryType::File && e.mtime_ns >= written_at_ns) return true;
  }
  return false;
}

std::string TreeMemo::encode() const {
  std::ostringstream out;
  out << kHeader << "\n"
      << "written_at " << written_at_ns << "\n"
      << "walk " << walk << "\n"
      << "tree " << tree_root.digest.str() << " " << tree_root.size << "\n"
      << "counts " << files << " " << bytes << " " << symlinks << " " << directories << "\n";
  for (const registry::Descriptor& c : chunks)
    out << "chunk " << c.digest.str() << " " << c.size << "\n";
  return out.str();
}

std::optional<TreeMemo> TreeMemo::decode(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line, word, digest;
  if (!std::getline(in, line) || line != kHeader) return std::nullopt;
  TreeMemo m;
  int64_t size = 0;
  if (!(in >> word >> m.written_at_ns) || word != "written_at") return std::nullopt;
  if (!(in >> word >> m.walk) || word != "walk" || m.walk.size() != 32) return std::nullopt;
  if (!(in >> word >> digest >> size) || word != "tree" || size <= 0) return std::nullopt;
  registry::Digest d;
  if (!registry::Digest::try_parse(digest, d)) return std::nullopt;
  m.tree_root = blob_descriptor(kTreeMediaType, d, static_cast<uint64_t>(size));
  if (!(in >> word >> m.files >> m.bytes >> m.symlinks >> m.directories) || word != "counts")
    return std::nullopt;
  while (in >> word) {
    if (word != "chunk" || !(in >> digest >> size) || size <= 0 || m.chunks.size() >= kMaxChunks ||
        !registry::Digest::try_parse(digest, d)) {
      return std::nullopt;
    }
    registry::Descriptor c =
        blob_descriptor(registry::media::kOciManifest, d, static_cast<uint64_t>(size));
    c.artifact_type = std::string(kSnapshotArtifactType);
    m.chunks.push_back(std::move(c));
  }
  if (m.chunks.empty()) return std::nullopt;
  return m;
}

fs::path TreeMemo::file_for(const fs::path& cache_dir, const fs::path& root) {
  fs::path f = StatCache::file_for(cache_dir, root);
  f.replace_extension(".tree");
  return f;
}

std::optional<TreeMemo> TreeMemo::load(const fs::path& file) {
  std::optional<std::string> text = read_cache_file(file, kMaxMemoBytes);
  if (!text) return std::nullopt;
  return decode(*text);
}

void TreeMemo::save(const fs::path& file) {
  write_cache_file(file, [&](int64_t written_at) {
    written_at_ns = written_at;
    return encode();
  });
}

bool TreeMemo::describes(const WalkResult& w) const {
  return walk == walk_fingerprint(w) && !has_racy_file(w, written_at_ns);
}

}  // namespace envbuild::snapshot
