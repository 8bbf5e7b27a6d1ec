#include "snapshot/snapshot_build.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "registry/error.hpp"
#include "registry/parallel.hpp"
#include "snapshot/snapshot_format.hpp"
#include "snapshot/snapshot_name_codec.hpp"

namespace envbuild::snapshot {
namespace {

// Packs kept in memory between building and uploading, so a first push does
// not read small files a third time; beyond this they are re-read.
constexpr uint64_t kKeptPackBudget = 256ull << 20;

struct Dir {
  std::map<std::string, size_t> files;         // name -> walk entry (files and symlinks)
  std::map<std::string, std::string> subdirs;  // name -> child dir path
};

struct PackPlan {
  std::vector<size_t> members;
  std::string key;  // sha256 hex of the member digests: the memo key
  registry::Digest digest;
  uint64_t size = 0;
  std::string bytes;
  bool has_bytes = false;
};

const registry::Digest& digest_of(const HashedTree& hashes, size_t i) {
  if (i >= hashes.digests.size() || !hashes.digests[i]) {
    throw Error(ErrorKind::Internal, "file entry " + std::to_string(i) + " has no content digest");
  }
  return *hashes.digests[i];
}

std::string name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Builds the directory map, creating every ancestor; refuses clashes.
std::map<std::string, Dir> directories_of(const WalkResult& walk) {
  std::map<std::string, Dir> dirs;
  dirs[""];
  auto ensure_dir = [&](const std::string& path) {
    std::string parent;
    size_t start = 0;
    while (start <= path.size()) {
      const size_t slash = std::min(path.find('/', start), path.size());
      const std::string name = path.substr(start, slash - start);
      validate_entry_name(name, "walk path '" + path + "'");
      const std::string here = path.substr(0, slash);
      Dir& p = dirs[parent];
      if (p.files.count(name)) {
        throw Error(ErrorKind::BadInput, "walk path '" + here + "' is both a file and a directory");
      }
      p.subdirs.emplace(name, here);
      dirs[here];
      parent = here;
      start = slash + 1;
    }
  };
  for (size_t i = 0; i < walk.entries.size(); ++i) {
    const SourceEntry& e = walk.entries[i];
    if (e.type == EntryType::Directory) {
      ensure_dir(e.path);
      continue;
    }
    const size_t slash = e.path.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : e.path.substr(0, slash);
    if (!parent.empty()) ensure_dir(parent);
    const std::string name = name_of(e.path);
    validate_entry_name(name, "walk path '" + e.path + "'");
    Dir& d = dirs[parent];
    if (d.subdirs.count(name) || !d.files.emplace(name, i).second) {
      throw Error(ErrorKind::BadInput, "walk path '" + e.path + "' appears twice");
    }
  }
  return dirs;
}

std::string memo_key(const HashedTree& hashes, const std::vector<size_t>& members) {
  registry::Hasher h;
  for (size_t i : members) {
    h.update(digest_of(hashes, i).hex());
    h.update("\n");
  }
  return h.finish().hex();
}

std::unordered_map<std::string, std::pair<registry::Digest, uint64_t>> parse_memo(
    std::string_view text) {
  std::unordered_map<std::string, std::pair<registry::Digest, uint64_t>> memo;
  std::istringstream in{std::string(text)};
  std::string key, hex;
  uint64_t size = 0;
  while (in >> key >> hex >> size) {
    registry::Digest d;
    if (key.size() == 64 && registry::Digest::try_parse("sha256:" + hex, d)) memo[key] = {d, size};
  }
  return memo;
}

bool is_packed(const SourceEntry& e) {
  return e.type == EntryType::File && e.size > 0 && e.size < kBigFileBytes;
}

}  // namespace

std::string read_pack(const std::filesystem::path& root, const WalkResult& walk,
                      const HashedTree& hashes, const SnapshotBlob& pack) {
  std::string bytes;
  bytes.reserve(static_cast<size_t>(pack.descriptor.size));
  for (size_t i : pack.members) bytes += read_verified(root, walk.entries[i], digest_of(hashes, i));
  if (registry::Digest::sha256_of(bytes) != pack.descriptor.digest ||
      bytes.size() != static_cast<uint64_t>(pack.descriptor.size)) {
    throw Error(ErrorKind::Internal, "pack of '" + walk.entries[pack.members.front()].path +
                                         "' does not match the stat cache's pack memo; "
                                         "delete the snapshot cache and push again");
  }
  return bytes;
}

BuiltSnapshot build_snapshot(const std::filesystem::path& root, const WalkResult& walk,
                             const HashedTree& hashes, std::string_view pack_memo, size_t workers) {
  const std::map<std::string, Dir> dirs = directories_of(walk);
  const auto memo = parse_memo(pack_memo);

  // Plan packs per directory with the content-defined cut rule.
  std::map<std::string, std::vector<PackPlan>> packs_of_dir;
  std::vector<PackPlan*> dirty;
  for (const auto& [path, dir] : dirs) {
    std::vector<PackPlan>& packs = packs_of_dir[path];
    PackPlan current;
    for (const auto& [name, i] : dir.files) {
      const SourceEntry& e = walk.entries[i];
      if (!is_packed(e)) continue;
      if (!current.members.empty() && current.size + e.size > kPackMaxBytes) {
        packs.push_back(std::move(current));
        current = PackPlan{};
      }
      current.members.push_back(i);
      current.size += e.size;
      if (pack_cut_after(name, digest_of(hashes, i), e.size)) {
        packs.push_back(std::move(current));
        current = PackPlan{};
      }
    }
    if (!current.members.empty()) packs.push_back(std::move(current));
  }
  for (auto& [path, packs] : packs_of_dir) {
    for (PackPlan& p : packs) {
      p.key = memo_key(hashes, p.members);
      const auto hit = memo.find(p.key);
      if (hit != memo.end() && hit->second.second == p.size) {
        p.digest = hit->second.first;
      } else {
        dirty.push_back(&p);
      }
    }
  }
  std::atomic<uint64_t> kept{0};
  registry::run_parallel(dirty.size(), workers, [&](size_t k) {
    PackPlan& p = *dirty[k];
    std::string bytes;
    bytes.reserve(p.size);
    for (size_t i : p.members) bytes += read_verified(root, walk.entries[i], digest_of(hashes, i));
    p.digest = registry::Digest::sha256_of(bytes);
    if (kept.fetch_add(bytes.size()) + bytes.size() <= kKeptPackBudget) {
      p.bytes = std::move(bytes);
      p.has_bytes = true;
    }
  });

  BuiltSnapshot out;
  std::map<registry::Digest, SnapshotBlob> blobs;
  auto add_blob = [&](SnapshotBlob blob) {
    blobs.try_emplace(blob.descriptor.digest, std::move(blob));
  };
  std::ostringstream new_memo;

  // Bottom-up: a node needs its children's digests (a Merkle tree).
  std::function<registry::Descriptor(const std::string&)> build_node =
      [&](const std::string& path) -> registry::Descriptor {
    const Dir& dir = dirs.at(path);
    TreeNode node;
    std::map<size_t, std::pair<uint32_t, uint64_t>> slot;  // entry -> (pack index, offset)
    for (PackPlan& p : packs_of_dir[path]) {
      const auto index = static_cast<uint32_t>(node.packs.size());
      node.packs.push_back({p.digest, p.size});
      new_memo << p.key << ' ' << p.digest.hex() << ' ' << p.size << '\n';
      uint64_t offset = 0;
      for (size_t i : p.members) {
        slot[i] = {index, offset};
        offset += walk.entries[i].size;
      }
      SnapshotBlob blob;
      blob.descriptor = blob_descriptor(kPackMediaType, p.digest, p.size);
      blob.kind = BlobKind::Pack;
      blob.members = p.members;
      blob.file_bytes = p.size;
      blob.bytes = std::move(p.bytes);
      blob.has_bytes = p.has_bytes;
      add_blob(std::move(blob));
    }
    // Merge files and subdirectories in name order.
    std::map<std::string, TreeEntry> entries;
    for (const auto& [name, i] : dir.files) {
      const SourceEntry& e = walk.entries[i];
      TreeEntry t;
      t.name = name;
      t.type = e.type;
      if (e.type == EntryType::Symlink) {
        t.link_target = e.link_target;
        t.size = e.link_target.size();
        ++out.symlinks;
      } else {
        t.size = e.size;
        t.digest = digest_of(hashes, i);
        t.executable = (e.mode & 0100) != 0;
        ++out.files;
        out.bytes += e.size;
        if (const auto s = slot.find(i); s != slot.end()) {
          t.pack = s->second.first;
          t.offset = s->second.second;
        } else if (e.size >= kBigFileBytes) {
          SnapshotBlob blob;
          blob.descriptor = blob_descriptor(kFileMediaType, t.digest, e.size);
          blob.kind = BlobKind::File;
          blob.members = {i};
          blob.file_bytes = e.size;
          add_blob(std::move(blob));
        }
      }
      entries.emplace(name, std::move(t));
    }
    for (const auto& [name, child] : dir.subdirs) {
      const registry::Descriptor d = build_node(child);
      TreeEntry t;
      t.name = name;
      t.type = EntryType::Directory;
      t.digest = d.digest;
      t.size = static_cast<uint64_t>(d.size);
      entries.emplace(name, std::move(t));
    }
    if (entries.empty() && !path.empty()) ++out.directories;
    for (auto& [name, t] : entries) node.entries.push_back(std::move(t));
    SnapshotBlob blob;
    blob.bytes = encode_tree_node(node);
    blob.has_bytes = true;
    blob.kind = BlobKind::Tree;
    blob.descriptor =
        blob_descriptor(kTreeMediaType, registry::Digest::sha256_of(blob.bytes), blob.bytes.size());
    registry::Descriptor d = blob.descriptor;
    add_blob(std::move(blob));
    return d;
  };
  out.tree_root = build_node("");
  for (auto& [digest, blob] : blobs) out.blobs.push_back(std::move(blob));
  out.pack_memo = new_memo.str();
  return out;
}

}  // namespace envbuild::snapshot
