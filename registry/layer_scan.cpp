#include "registry/layer_scan.hpp"

#include <archive_entry.h>

#include "registry/compress_stream.hpp"
#include "registry/error.hpp"
#include "registry/scoped_utf8_locale.hpp"
#include "registry/tar_source.hpp"

namespace envbuild::registry {

namespace {

constexpr size_t kBuffer = size_t{1} << 20;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueName = ".wh..wh..opq";

// "./a//b/" -> "a/b"; Error(BadInput) for absolute paths and "..".
std::string normalize(std::string_view raw, std::string_view name) {
  if (!raw.empty() && raw.front() == '/')
    throw Error(ErrorKind::BadInput,
                std::string(name) + ": absolute path " + std::string(raw.substr(0, 200)));
  std::string out;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view c = raw.substr(pos, end - pos);
    pos = end + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..")
      throw Error(ErrorKind::BadInput,
                  std::string(name) + ": path with '..': " + std::string(raw.substr(0, 200)));
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

}  // namespace

void scan_layer(BlobReader& blob, std::string_view name,
                const std::function<void(const ScannedEntry&, const ReadContent&)>& visit,
                uint64_t max_uncompressed_bytes) {
  const std::string label(name);
  std::unique_ptr<ByteSource> source = make_sniffing_decompressor(blob, label);
  ScopedUtf8Locale locale;
  TarSource src;
  src.source = source.get();
  src.buf.resize(kBuffer);
  src.limit = max_uncompressed_bytes;
  src.name = label;
  ReadArchive a(archive_read_new());
  if (!a) throw Error(ErrorKind::Internal, "libarchive allocation failed");
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_none(a.get());
  auto fail = [&](const char* what) {
    if (src.error) std::rethrow_exception(src.error);
    const char* msg = archive_error_string(a.get());
    throw Error(ErrorKind::BadInput,
                label + ": " + what + ": " + (msg ? msg : "unknown libarchive error"));
  };
  if (archive_read_open(a.get(), &src, nullptr, tar_read_cb, nullptr) != ARCHIVE_OK)
    fail("not a tar stream");
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) fail("cannot read tar header");
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(e);
    if (raw == nullptr) continue;
    ScannedEntry entry;
    entry.path = normalize(raw, label);
    if (entry.path.empty()) continue;
    const size_t slash = entry.path.rfind('/');
    const std::string base = entry.path.substr(slash == std::string::npos ? 0 : slash + 1);
    const std::string dir = slash == std::string::npos ? "" : entry.path.substr(0, slash);
    entry.mode = static_cast<uint32_t>(archive_entry_perm(e));
    if (base == kOpaqueName) {
      entry.type = ScannedEntry::Type::OpaqueWhiteout;
      entry.path = dir;
    } else if (base.rfind(kWhiteoutPrefix, 0) == 0) {
      entry.type = ScannedEntry::Type::Whiteout;
      entry.path = (dir.empty() ? "" : dir + "/") + base.substr(kWhiteoutPrefix.size());
    } else if (const char* hard = archive_entry_hardlink(e)) {
      entry.type = ScannedEntry::Type::Hardlink;
      entry.link_target = normalize(hard, label);
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG:
          entry.type = ScannedEntry::Type::File;
          entry.size = archive_entry_size(e) < 0 ? 0 : static_cast<uint64_t>(archive_entry_size(e));
          break;
        case AE_IFDIR:
          entry.type = ScannedEntry::Type::Directory;
          break;
        case AE_IFLNK:
          entry.type = ScannedEntry::Type::Symlink;
          entry.link_target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
          break;
        default:
          entry.type = ScannedEntry::Type::Other;
      }
    }
    bool consumed = false;
    const ReadContent read = [&](uint64_t max_bytes) {
      if (consumed || entry.type != ScannedEntry::Type::File) return std::string();
      consumed = true;
      std::string out;
      char buf[1 << 16];
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
        if (n < 0) fail("cannot read entry content");
        if (n == 0) break;
        const uint64_t room = max_bytes > out.size() ? max_bytes - out.size() : 0;
        out.append(buf, static_cast<size_t>(std::min<uint64_t>(room, static_cast<uint64_t>(n))));
      }
      return out;
    };
    visit(entry, read);
  }
  if (src.error) std::rethrow_exception(src.error);
}

}  // namespace envbuild::registry
