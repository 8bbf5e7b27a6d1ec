#include "snapshot/snapshot_format.hpp"

#include <xxhash.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"
#include "snapshot/snapshot_name_codec.hpp"

namespace envbuild::snapshot {
namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view where, const std::string& what) {
  throw Error(ErrorKind::BadInput, std::string(where) + ": " + what);
}

std::string get_bytes(const json& j, const std::string& key, std::string_view where) {
  const auto plain = j.find(key);
  const auto encoded = j.find(key + "64");
  if ((plain == j.end()) == (encoded == j.end()))
    bad(where, "needs exactly one of " + key + ", " + key + "64");
  if (plain != j.end()) {
    if (!plain->is_string()) bad(where, key + " is not a string");
    return plain->get<std::string>();
  }
  if (!encoded->is_string()) bad(where, key + "64 is not a string");
  std::string raw =
      base64_decode(encoded->get<std::string>(), std::string(where) + " " + key + "64");
  // One spelling per name, or one tree would have two digests.
  if (is_valid_utf8(raw)) bad(where, key + "64 holds valid UTF-8; it must be stored as " + key);
  return raw;
}

uint64_t get_u64(const json& j, const char* key, std::string_view where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned())
    bad(where, std::string("missing or non-integer ") + key);
  return it->get<uint64_t>();
}

registry::Digest get_sha256(const json& j, const char* key, std::string_view where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) bad(where, std::string("missing ") + key);
  registry::Digest d;
  if (!registry::Digest::try_parse(it->get<std::string>(), d) || d.algorithm() != "sha256") {
    bad(where, std::string("bad sha256 digest in ") + key);
  }
  return d;
}

std::string_view type_name(EntryType t) {
  switch (t) {
    case EntryType::File:
      return "file";
    case EntryType::Symlink:
      return "symlink";
    case EntryType::Directory:
      return "dir";
  }
  return "file";
}

}  // namespace

namespace {

// Canonical JSON written by hand: a tree node is encoded for every directory
// on every push, and a generic JSON library spends most of that time on
// maps. The bytes are nlohmann::json's dump() of the same object (keys
// sorted, no whitespace, UTF-8 unescaped, control characters as \uXXXX
// except \b \f \n \r \t); tests/unit/snapshot_format_test.cpp checks
// the two agree on generated nodes.
class CanonicalJson {
 public:
  explicit CanonicalJson(std::string& out) : out_(out) {}
  void raw(std::string_view s) { out_.append(s); }
  void string(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_.push_back('"');
    for (char c : s) {
      switch (c) {
        case '"':
          out_.append("\\\"");
          break;
        case '\\':
          out_.append("\\\\");
          break;
        case '\b':
          out_.append("\\b");
          break;
        case '\f':
          out_.append("\\f");
          break;
        case '\n':
          out_.append("\\n");
          break;
        case '\r':
          out_.append("\\r");
          break;
        case '\t':
          out_.append("\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            out_.append("\\u00");
            out_.push_back(kHex[(c >> 4) & 0xf]);
            out_.push_back(kHex[c & 0xf]);
          } else {
            out_.push_back(c);
          }
      }
    }
    out_.push_back('"');
  }
  // ,"key": (the comma unless first)
  void key(std::string_view k, bool first = false) {
    if (!first) out_.push_back(',');
    out_.push_back('"');
    out_.append(k);
    out_.append("\":");
  }
  void number(uint64_t v) { out_.append(std::to_string(v)); }
  void digest(const registry::Digest& d) {
    out_.push_back('"');
    out_.append(d.algorithm());
    out_.push_back(':');
    out_.append(d.hex());
    out_.push_back('"');
  }
  // "key" or "key64" (base64 of non-UTF-8 bytes), in its sorted place.
  void bytes_key(std::string_view k, const std::string& value, bool first = false) {
    if (is_valid_utf8(value)) {
      key(k, first);
      string(value);
    } else {
      key(std::string(k) + "64", first);
      string(base64_encode(value));
    }
  }

 private:
  std::string& out_;
};

}  // namespace

std::string encode_tree_node(const TreeNode& node) {
  std::string out;
  out.reserve(64 + node.entries.size() * 140 + node.packs.size() * 100);
  CanonicalJson j(out);
  j.raw("{\"entries\":[");
  for (size_t i = 0; i < node.entries.size(); ++i) {
    const TreeEntry& e = node.entries[i];
    j.raw(i > 0 ? ",{" : "{");
    // Keys in byte order: digest exec name name64 offset pack size target
    // target64 tree type.
    switch (e.type) {
      case EntryType::File:
        j.key("digest", true);
        j.digest(e.digest);
        if (e.executable) {
          j.key("exec");
          j.raw("true");
        }
        j.bytes_key("name", e.name);
        if (e.pack) {
          j.key("offset");
          j.number(e.offset);
          j.key("pack");
          j.number(*e.pack);
        }
        j.key("size");
        j.number(e.size);
        break;
      case EntryType::Symlink:
        j.bytes_key("name", e.name, true);
        j.key("size");
        j.number(e.size);
        j.bytes_key("target", e.link_target);
        break;
      case EntryType::Directory:
        j.bytes_key("name", e.name, true);
        j.key("size");
        j.number(e.size);
        j.key("tree");
        j.digest(e.digest);
        break;
    }
    j.key("type");
    j.string(type_name(e.type));
    j.raw("}");
  }
  j.raw("],\"packs\":[");
  for (size_t i = 0; i < node.packs.size(); ++i) {
    j.raw(i > 0 ? ",{" : "{");
    j.key("digest", true);
    j.digest(node.packs[i].digest);
    j.key("size");
    j.number(node.packs[i].size);
    j.raw("}");
  }
  j.raw("]}");
  return out;
}

TreeNode decode_tree_node(std::string_view bytes, std::string_view where) {
  if (bytes.size() > kMaxTreeNodeBytes) bad(where, "tree node larger than 16 MiB");
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad(where, "tree node is not a JSON object");
  const auto entries = j.find("entries");
  const auto packs = j.find("packs");
  if (entries == j.end() || !entries->is_array()) bad(where, "tree node has no entries array");
  if (packs == j.end() || !packs->is_array()) bad(where, "tree node has no packs array");

  TreeNode node;
  for (size_t i = 0; i < packs->size(); ++i) {
    const json& p = (*packs)[i];
    const std::string at = std::string(where) + " packs[" + std::to_string(i) + "]";
    if (!p.is_object()) bad(at, "not an object");
    PackRef ref{get_sha256(p, "digest", at), get_u64(p, "size", at)};
    if (ref.size == 0 || ref.size > kMaxPackBytes) bad(at, "pack size out of range");
    node.packs.push_back(ref);
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    const std::string at = std::string(where) + " entries[" + std::to_string(i) + "]";
    if (!e.is_object()) bad(at, "not an object");
    TreeEntry t;
    t.name = get_bytes(e, "name", at);
    validate_entry_name(t.name, at);
    if (!node.entries.empty() && !(node.entries.back().name < t.name)) {
      bad(at, "entries not sorted by name or duplicated");
    }
    const auto type = e.find("type");
    if (type == e.end() || !type->is_string()) bad(at, "missing type");
    const std::string ts = type->get<std::string>();
    t.size = get_u64(e, "size", at);
    if (ts == "file") {
      t.type = EntryType::File;
      t.digest = get_sha256(e, "digest", at);
      if (const auto x = e.find("exec"); x != e.end()) {
        if (!x->is_boolean() || !x->get<bool>()) bad(at, "exec must be true when present");
        t.executable = true;
      }
      if (const auto p = e.find("pack"); p != e.end()) {
        const uint64_t index = get_u64(e, "pack", at);
        if (index >= node.packs.size()) bad(at, "pack index out of range");
        t.pack = static_cast<uint32_t>(index);
        t.offset = get_u64(e, "offset", at);
        const uint64_t pack_size = node.packs[index].size;
        if (t.offset > pack_size || t.size > pack_size - t.offset)
          bad(at, "slice outside its pack");
      }
    } else if (ts == "symlink") {
      t.type = EntryType::Symlink;
      t.link_target = get_bytes(e, "target", at);
      if (t.link_target.empty() || t.link_target.size() > kMaxLinkTargetBytes ||
          t.link_target.find('\0') != std::string::npos) {
        bad(at, "invalid symlink target");
      }
      if (t.size != t.link_target.size()) bad(at, "symlink size differs from its target length");
    } else if (ts == "dir") {
      t.type = EntryType::Directory;
      t.digest = get_sha256(e, "tree", at);
      if (t.size > kMaxTreeNodeBytes) bad(at, "child tree node larger than 16 MiB");
    } else {
      bad(at, "unknown type '" + ts + "'");
    }
    node.entries.push_back(std::move(t));
  }
  return node;
}

bool pack_cut_after(std::string_view name, const registry::Digest& digest, uint64_t size) {
  std::string key(name);
  key += '\0';
  key += digest.hex();
  const uint64_t h = XXH64(key.data(), key.size(), 0);
  const uint64_t weight = size + kPackMemberOverhead;
  if (weight >= kPackTargetBytes) return true;
  // h < 2^64 * weight / target, computed without overflow.
  const uint64_t threshold = (std::numeric_limits<uint64_t>::max() / kPackTargetBytes) * weight;
  return h < threshold;
}

std::vector<std::pair<size_t, size_t>> chunk_ranges(const std::vector<registry::Digest>& sorted) {
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t begin = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const uint32_t prefix =
        static_cast<uint32_t>(std::stoul(sorted[i].hex().substr(0, 8), nullptr, 16));
    if (prefix % kChunkCutModulus == 0 || i + 1 - begin == kMaxChunkLayers ||
        i + 1 == sorted.size()) {
      ranges.emplace_back(begin, i + 1);
      begin = i + 1;
    }
  }
  return ranges;
}

registry::Descriptor blob_descriptor(std::string_view media_type, const registry::Digest& digest,
                                     uint64_t size) {
  registry::Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = digest;
  d.size = static_cast<int64_t>(size);
  return d;
}

registry::Descriptor empty_config_descriptor() {
  return blob_descriptor(registry::media::kOciEmpty, registry::Digest::sha256_of(kEmptyConfigBytes),
                         kEmptyConfigBytes.size());
}

registry::ManifestBytes encode_chunk_manifest(const std::vector<registry::Descriptor>& layers) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = registry::media::kOciManifest;
  j["artifactType"] = kSnapshotArtifactType;
  j["config"] = registry::descriptor_to_json(empty_config_descriptor());
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& d : layers) j["layers"].push_back(registry::descriptor_to_json(d));
  std::string bytes = j.dump();
  return {std::string(registry::media::kOciManifest), bytes, registry::Digest::sha256_of(bytes)};
}

registry::ManifestBytes encode_root_index(const std::vector<registry::Descriptor>& chunks,
                                          const std::map<std::string, std::string>& annotations) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = registry::media::kOciIndex;
  j["artifactType"] = kSnapshotArtifactType;
  j["manifests"] = nlohmann::ordered_json::array();
  for (const auto& d : chunks) j["manifests"].push_back(registry::descriptor_to_json(d));
  nlohmann::ordered_json a = nlohmann::ordered_json::object();
  for (const auto& [k, v] : annotations) a[k] = v;  // std::map: sorted keys
  j["annotations"] = std::move(a);
  std::string bytes = j.dump();
  return {std::string(registry::media::kOciIndex), bytes, registry::Digest::sha256_of(bytes)};
}

std::string snapshot_tag(const registry::Digest& id) { return std::string(kTagPrefix) + id.hex(); }

std::optional<registry::Digest> id_of_tag(std::string_view tag) {
  if (!tag.starts_with(kTagPrefix)) return std::nullopt;
  registry::Digest d;
  const std::string text = "sha256:" + std::string(tag.substr(kTagPrefix.size()));
  if (!registry::Digest::try_parse(text, d) || d.algorithm() != "sha256") return std::nullopt;
  return d;
}

SnapshotRoot parse_snapshot_root(const registry::ManifestBytes& manifest, std::string_view name) {
  const std::string where = "snapshot " + std::string(name);
  const nlohmann::json j = registry::parse_manifest_json(manifest.bytes, where);
  const std::string media_type = registry::detect_manifest_media_type(j, manifest.media_type);
  const auto artifact = j.find("artifactType");
  if (media_type != registry::media::kOciIndex || artifact == j.end() || !artifact->is_string() ||
      artifact->get<std::string>() != kSnapshotArtifactType) {
    throw Error(ErrorKind::BadInput,
                where + " (" + manifest.digest.str() +
                    ") is not an envbuild snapshot: expected an OCI index with "
                    "artifactType " +
                    std::string(kSnapshotArtifactType));
  }
  SnapshotRoot root;
  root.id = manifest.digest;
  for (const auto& d : registry::manifest_children(manifest).manifests) root.chunks.push_back(d);
  if (const auto a = j.find("annotations"); a != j.end()) {
    if (!a->is_object()) bad(where, "annotations is not an object");
    for (const auto& [k, v] : a->items()) {
      if (!v.is_string()) bad(where, "annotation " + k + " is not a string");
      root.annotations[k] = v.get<std::string>();
    }
  }
  const auto tree = root.annotations.find(std::string(kTreeAnnotation));
  const auto tree_size = root.annotations.find(std::string(kTreeSizeAnnotation));
  if (tree == root.annotations.end() || tree_size == root.annotations.end()) {
    bad(where, "missing tree annotations");
  }
  root.tree.media_type = std::string(kTreeMediaType);
  if (!registry::Digest::try_parse(tree->second, root.tree.digest) ||
      root.tree.digest.algorithm() != "sha256") {
    bad(where, "bad tree digest annotation");
  }
  const std::string& s = tree_size->second;
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(s) > kMaxTreeNodeBytes) {
    bad(where, "bad tree size annotation");
  }
  root.tree.size = static_cast<int64_t>(std::stoull(s));
  return root;
}

}  // namespace envbuild::snapshot
