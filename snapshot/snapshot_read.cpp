#include "snapshot/snapshot_read.hpp"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "registry/error.hpp"
#include "registry/parallel.hpp"
#include "snapshot/snapshot_format.hpp"

namespace envbuild::snapshot {
namespace {

constexpr std::string_view kCreatedAnnotation = "org.opencontainers.image.created";

bool is_lower_hex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

registry::ManifestBytes fetch_root(registry::Store& store, std::string_view ref) {
  const std::string text(ref);
  if (text.starts_with("sha256:")) return store.get_manifest(text);
  if (is_lower_hex(text) && text.size() >= 12 && text.size() <= 64) {
    std::vector<std::string> matches;
    for (const std::string& tag : store.list_tags()) {
      const auto id = id_of_tag(tag);
      if (id && id->hex().starts_with(text)) matches.push_back(tag);
    }
    if (matches.size() > 1) {
      throw Error(ErrorKind::BadInput, "snapshot id prefix " + text + " is ambiguous in " +
                                           store.describe() + " (" +
                                           std::to_string(matches.size()) + " snapshots)");
    }
    if (matches.size() == 1) return store.get_manifest(matches.front());
    if (text.size() == 64) {
      if (auto m = store.find_manifest("sha256:" + text)) return *m;
    }
  }
  auto m = store.find_manifest(text);
  if (!m) throw Error(ErrorKind::NotFound, "no snapshot " + text + " in " + store.describe());
  return *m;
}

struct Pending {
  std::string path;  // "" for the root
  registry::Descriptor node;
  size_t depth = 0;
};

}  // namespace

SnapshotInfo read_snapshot(registry::Store& store, std::string_view id_or_tag, size_t workers) {
  const registry::ManifestBytes manifest = fetch_root(store, id_or_tag);
  const SnapshotRoot root = parse_snapshot_root(manifest, id_or_tag);

  SnapshotInfo info;
  info.id = root.id;
  info.annotations = root.annotations;

  // Level by level, fetching each level's distinct nodes in parallel.
  std::unordered_map<registry::Digest, std::shared_ptr<const TreeNode>> nodes;
  std::vector<Pending> level{{"", root.tree, 0}};
  uint64_t entries_seen = 0;
  while (!level.empty()) {
    std::vector<const Pending*> to_fetch;
    for (const Pending& p : level) {
      if (nodes.emplace(p.node.digest, nullptr).second) to_fetch.push_back(&p);
    }
    std::vector<std::shared_ptr<const TreeNode>> fetched(to_fetch.size());
    registry::run_parallel(to_fetch.size(), std::max<size_t>(1, workers), [&](size_t k) {
      const Pending& p = *to_fetch[k];
      const std::string where =
          "tree node " + p.node.digest.str() + " ('" + (p.path.empty() ? "." : p.path) + "')";
      if (p.node.size < 0 || static_cast<uint64_t>(p.node.size) > kMaxTreeNodeBytes) {
        throw Error(ErrorKind::BadInput, where + ": size out of range");
      }
      auto reader = store.open_blob(p.node);
      // read_all reads to the end, where store readers verify digest and size.
      const std::string bytes = registry::read_all(*reader, kMaxTreeNodeBytes);
      fetched[k] = std::make_shared<const TreeNode>(decode_tree_node(bytes, where));
    });
    for (size_t k = 0; k < to_fetch.size(); ++k) nodes[to_fetch[k]->node.digest] = fetched[k];

    std::vector<Pending> next;
    for (const Pending& p : level) {
      const TreeNode& node = *nodes.at(p.node.digest);
      if (node.entries.empty() && !p.path.empty()) {
        SnapshotFile dir;
        dir.path = p.path;
        dir.type = EntryType::Directory;
        info.files.push_back(std::move(dir));
      }
      entries_seen += node.entries.size();
      // Shared subtrees could expand exponentially: bound what we flatten.
      if (entries_seen > kMaxSnapshotEntries) {
        throw Error(ErrorKind::BadInput, "snapshot " + root.id.str() + " has more than " +
                                             std::to_string(kMaxSnapshotEntries) + " entries");
      }
      for (const TreeEntry& e : node.entries) {
        std::string path = p.path.empty() ? e.name : p.path + "/" + e.name;
        if (e.type == EntryType::Directory) {
          if (p.depth + 1 > kMaxDepth) {
            throw Error(ErrorKind::BadInput, "snapshot " + root.id.str() + ": '" + path +
                                                 "' is deeper than " + std::to_string(kMaxDepth));
          }
          next.push_back(Pending{std::move(path), blob_descriptor(kTreeMediaType, e.digest, e.size),
                                 p.depth + 1});
          continue;
        }
        SnapshotFile f;
        f.path = std::move(path);
        f.type = e.type;
        f.size = e.size;
        if (e.type == EntryType::Symlink) {
          f.link_target = e.link_target;
        } else {
          f.executable = e.executable;
          f.sha256 = e.digest;
          info.total_bytes += e.size;
          if (e.pack) {
            f.pack = node.packs[*e.pack].digest;
            f.pack_size = node.packs[*e.pack].size;
            f.pack_offset = e.offset;
          }
        }
        info.files.push_back(std::move(f));
      }
    }
    level = std::move(next);
  }
  std::sort(info.files.begin(), info.files.end(),
            [](const SnapshotFile& a, const SnapshotFile& b) { return a.path < b.path; });
  return info;
}

std::vector<SnapshotSummary> list_snapshots(registry::Store& store) {
  std::vector<SnapshotSummary> out;
  for (const std::string& tag : store.list_tags()) {
    if (!id_of_tag(tag)) continue;
    const auto manifest = store.find_manifest(tag);
    if (!manifest) continue;  // deleted since listed
    try {
      SnapshotRoot root = parse_snapshot_root(*manifest, tag);
      out.push_back({root.id, tag, std::move(root.annotations)});
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;  // not a snapshot after all: skip it
    }
  }
  auto created = [](const SnapshotSummary& s) {
    const auto it = s.annotations.find(std::string(kCreatedAnnotation));
    return it == s.annotations.end() ? std::string() : it->second;
  };
  std::sort(out.begin(), out.end(), [&](const SnapshotSummary& a, const SnapshotSummary& b) {
    const std::string ca = created(a), cb = created(b);
    if (ca != cb) return ca > cb;  // newest first; none ("") last
    return a.tag < b.tag;
  });
  return out;
}

}  // namespace envbuild::snapshot
