#include "registry/layer_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <unordered_map>

#include "registry/atomic_file.hpp"
#include "registry/compress_stream.hpp"
#include "registry/error.hpp"
#include "registry/scoped_utf8_locale.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::registry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueName = ".wh..wh..opq";

[[noreturn]] void fail_errno(const std::string& what, const std::string& path) {
  throw Error(ErrorKind::Internal, what + " " + path + ": " + std::strerror(errno));
}

// Drops "", "." components; refuses absolute paths, "..", NUL and (unless
// allowed) ".wh." names, which a reader would take for whiteouts.
std::string normalize_path(std::string_view raw, bool allow_empty) {
  if (raw.find('\0') != std::string_view::npos)
    throw Error(ErrorKind::BadInput, "layer path contains a NUL byte: " + std::string(raw.data()));
  if (!raw.empty() && raw.front() == '/')
    throw Error(ErrorKind::BadInput, "layer path is absolute: " + std::string(raw));
  std::string out;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view comp = raw.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..")
      throw Error(ErrorKind::BadInput, "layer path contains '..': " + std::string(raw));
    if (comp.starts_with(kWhiteoutPrefix))
      throw Error(
          ErrorKind::BadInput,
          "layer path has a name starting with .wh. (reserved for whiteouts): " + std::string(raw));
    if (!out.empty()) out += '/';
    out += comp;
  }
  if (out.empty() && !allow_empty)
    throw Error(ErrorKind::BadInput, "empty layer path: '" + std::string(raw) + "'");
  return out;
}

int64_t entry_mtime(const LayerEntry& e, const LayerOptions& options) {
  if (!options.clamp_mtime || !e.mtime) return options.source_date_epoch;
  return std::min(*e.mtime, options.source_date_epoch);
}

Codec codec_for(LayerOptions::Compression c) {
  switch (c) {
    case LayerOptions::Compression::Gzip:
      return Codec::Gzip;
    case LayerOptions::Compression::Zstd:
      return Codec::Zstd;
    case LayerOptions::Compression::None:
      break;
  }
  return Codec::None;
}

// Buffers compressed bytes, hashes them (blob digest) and writes them out.
class BlobSink : public ByteSink {
 public:
  explicit BlobSink(AtomicFile& file) : file_(file) { buf_.reserve(kStreamBufferSize); }
  void write(const char* data, size_t size) override {
    hasher_.update(data, size);
    size_ += size;
    if (buf_.size() + size > kStreamBufferSize) flush();
    if (size >= kStreamBufferSize) {
      file_.write(data, size);
    } else {
      buf_.append(data, size);
    }
  }
  void flush() {
    if (!buf_.empty()) file_.write(buf_);
    buf_.clear();
  }
  Digest finish() { return hasher_.finish(); }
  uint64_t size() const { return size_; }

 private:
  AtomicFile& file_;
  std::string buf_;
  Hasher hasher_;
  uint64_t size_ = 0;
};

// What libarchive's write callback feeds: the DiffID hasher and the
// compressor. Exceptions must not unwind through libarchive's C frames, so
// they are parked here and rethrown once libarchive returns.
struct TarSink {
  Compressor* compressor = nullptr;
  Hasher diff;
  uint64_t size = 0;
  std::exception_ptr error;
};

la_ssize_t tar_write_cb(struct archive*, void* ctx, const void* buf, size_t n) {
  auto* sink = static_cast<TarSink*>(ctx);
  try {
    sink->diff.update(buf, n);
    sink->size += n;
    sink->compressor->write(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    sink->error = std::current_exception();
    return -1;
  }
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

class TarWriter {
 public:
  explicit TarWriter(TarSink& sink)
      : sink_(sink), archive_(archive_write_new()), entry_(archive_entry_new()) {
    if (!archive_ || !entry_) throw Error(ErrorKind::Internal, "libarchive allocation failed");
    // PAX restricted: plain ustar headers unless a name, link or size needs
    // a PAX record. 10240-byte blocks, as tar(1) writes.
    check(archive_write_set_format_pax_restricted(archive_.get()), "set tar format");
    check(archive_write_add_filter_none(archive_.get()), "set tar filter");
    check(archive_write_set_bytes_per_block(archive_.get(), 10240), "set tar block size");
    check(archive_write_open(archive_.get(), &sink_, nullptr, tar_write_cb, nullptr), "open tar");
    buf_.resize(kStreamBufferSize);
  }

  void add(const LayerEntry& e, int64_t mtime) {
    struct archive_entry* ae = entry_.get();
    archive_entry_clear(ae);  // also leaves atime/ctime/birthtime unset
    archive_entry_copy_pathname(ae, e.path.c_str());
    archive_entry_set_mtime(ae, mtime, 0);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_perm(ae, e.mode & 07777);
    switch (e.type) {
      case LayerEntry::Type::Directory:
        archive_entry_set_filetype(ae, AE_IFDIR);
        header(e.path);
        break;
      case LayerEntry::Type::Symlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_copy_symlink(ae, e.link_target.c_str());
        header(e.path);
        break;
      case LayerEntry::Type::Hardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_copy_hardlink(ae, e.link_target.c_str());
        archive_entry_set_size(ae, 0);
        header(e.path);
        break;
      case LayerEntry::Type::Whiteout:
      case LayerEntry::Type::OpaqueWhiteout:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, 0);
        header(e.path);
        break;
      case LayerEntry::Type::File:
        archive_entry_set_filetype(ae, AE_IFREG);
        if (e.source.empty()) {
          archive_entry_set_size(ae, static_cast<la_int64_t>(e.content.size()));
          header(e.path);
          data(e.content.data(), e.content.size(), e.path);
        } else {
          add_file_from_disk(e);
        }
        break;
    }
    ++count_;
  }

  void close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail("close tar", "");
  }
  uint64_t count() const { return count_; }

 private:
  void add_file_from_disk(const LayerEntry& e) {
    UniqueFd fd(::open(e.source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) fail_errno("cannot open", e.source.string());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail_errno("cannot stat", e.source.string());
    if (!S_ISREG(st.st_mode))
      throw Error(ErrorKind::BadInput, "not a regular file: " + e.source.string());
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    archive_entry_set_size(entry_.get(), static_cast<la_int64_t>(size));
    header(e.path);
    uint64_t done = 0;
    while (done < size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), size - done));
      ssize_t n = ::read(fd.get(), buf_.data(), want);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail_errno("cannot read", e.source.string());
      }
      if (n == 0)
        throw Error(ErrorKind::Internal,
                    "file shrank while being written into a layer: " + e.source.string());
      data(buf_.data(), static_cast<size_t>(n), e.path);
      done += static_cast<uint64_t>(n);
    }
  }

  void header(const std::string& path) {
    int rc = archive_write_header(archive_.get(), entry_.get());
    // WARN: a name that is not valid UTF-8 was stored as raw bytes with a
    // hdrcharset=BINARY record; the output is still deterministic.
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail("write tar header for", path);
  }

  void data(const char* p, size_t n, const std::string& path) {
    while (n > 0) {
      la_ssize_t w = archive_write_data(archive_.get(), p, n);
      if (w <= 0) fail("write tar data for", path);
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  void check(int rc, const char* what) {
    if (rc != ARCHIVE_OK) fail(what, "");
  }

  [[noreturn]] void fail(const std::string& what, const std::string& path) {
    if (sink_.error) std::rethrow_exception(sink_.error);
    const char* msg = archive_error_string(archive_.get());
    throw Error(ErrorKind::Internal, "libarchive: cannot " + what + (path.empty() ? "" : " ") +
                                         path + ": " + (msg ? msg : "unknown error"));
  }

  TarSink& sink_;
  std::unique_ptr<struct archive, ArchiveDeleter> archive_;
  std::unique_ptr<struct archive_entry, EntryDeleter> entry_;
  std::vector<char> buf_;
  uint64_t count_ = 0;
};

// Turns caller entries into stored tar entries: normalized paths, whiteout
// names, and hardlink groups where the first path in order carries the data.
std::vector<LayerEntry> prepare(std::vector<LayerEntry> entries) {
  for (auto& e : entries) {
    switch (e.type) {
      case LayerEntry::Type::Whiteout: {
        std::string p = normalize_path(e.path, false);
        size_t slash = p.rfind('/');
        e.path = slash == std::string::npos
                     ? std::string(kWhiteoutPrefix) + p
                     : p.substr(0, slash + 1) + std::string(kWhiteoutPrefix) + p.substr(slash + 1);
        e.mode = 0;
        break;
      }
      case LayerEntry::Type::OpaqueWhiteout: {
        std::string p = normalize_path(e.path, true);
        e.path = p.empty() ? std::string(kOpaqueName) : p + "/" + std::string(kOpaqueName);
        e.mode = 0;
        break;
      }
      case LayerEntry::Type::Hardlink:
        e.path = normalize_path(e.path, false);
        e.link_target = normalize_path(e.link_target, false);
        break;
      case LayerEntry::Type::Symlink:
        e.path = normalize_path(e.path, false);
        e.mode = 0777;
        if (e.link_target.empty() || e.link_target.find('\0') != std::string::npos)
          throw Error(ErrorKind::BadInput, "symlink " + e.path + " has an empty or invalid target");
        break;
      case LayerEntry::Type::File:
      case LayerEntry::Type::Directory:
        e.path = normalize_path(e.path, false);
        break;
    }
  }
  std::sort(entries.begin(), entries.end(), [](const LayerEntry& a, const LayerEntry& b) {
    return layer_path_less(a.path, b.path);
  });
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!index.emplace(entries[i].path, i).second)
      throw Error(ErrorKind::BadInput, "duplicate layer path: " + entries[i].path);
  }
  // Resolve each hardlink to the File entry whose data it shares.
  auto root_of = [&](size_t i) {
    size_t hops = 0;
    while (entries[i].type == LayerEntry::Type::Hardlink) {
      auto it = index.find(entries[i].link_target);
      if (it == index.end() || ++hops > entries.size())
        throw Error(ErrorKind::BadInput, "hardlink " + entries[i].path + " -> " +
                                             entries[i].link_target + " has no file target");
      i = it->second;
    }
    if (entries[i].type != LayerEntry::Type::File)
      throw Error(ErrorKind::BadInput, "hardlink target is not a regular file: " + entries[i].path);
    return i;
  };
  std::vector<size_t> roots(entries.size());
  for (size_t i = 0; i < entries.size(); ++i)
    roots[i] = entries[i].type == LayerEntry::Type::Hardlink ? root_of(i) : i;
  std::vector<LayerEntry> out;
  out.reserve(entries.size());
  std::unordered_map<size_t, std::string> carrier;  // root index -> path carrying data
  std::vector<bool> is_linked(entries.size(), false);
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].type == LayerEntry::Type::Hardlink) is_linked[roots[i]] = true;
  for (size_t i = 0; i < entries.size(); ++i) {
    bool grouped = entries[i].type == LayerEntry::Type::Hardlink || is_linked[i];
    if (!grouped) {
      out.push_back(std::move(entries[i]));
      continue;
    }
    size_t r = roots[i];
    auto it = carrier.find(r);
    LayerEntry e;
    e.path = entries[i].path;
    if (it == carrier.end()) {
      const LayerEntry& data = entries[r];
      e.type = LayerEntry::Type::File;
      e.mode = data.mode;
      e.source = data.source;
      e.content = data.content;
      e.mtime = data.mtime;
      carrier.emplace(r, e.path);
    } else {
      e.type = LayerEntry::Type::Hardlink;
      e.mode = entries[r].mode;
      e.mtime = entries[r].mtime;
      e.link_target = it->second;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Directory walk: one record per file system object under the root.
struct Walker {
  std::vector<LayerEntry> entries;
  // (dev, ino) of multiply-linked files -> path of the first one seen.
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;

  void walk(int dirfd, const fs::path& dir_path, const std::string& prefix) {
    int dup_fd = ::dup(dirfd);
    if (dup_fd < 0) fail_errno("cannot dup directory fd for", dir_path.string());
    DIR* dir = ::fdopendir(dup_fd);
    if (!dir) {
      ::close(dup_fd);
      fail_errno("cannot read directory", dir_path.string());
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* d = ::readdir(dir)) {
      std::string_view name = d->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
      errno = 0;
    }
    int read_errno = errno;
    ::closedir(dir);
    if (read_errno != 0) {
      errno = read_errno;
      fail_errno("cannot read directory", dir_path.string());
    }
    for (const std::string& name : names) visit(dirfd, dir_path, prefix, name);
  }

  void visit(int dirfd, const fs::path& dir_path, const std::string& prefix,
             const std::string& name) {
    std::string rel = prefix.empty() ? name : prefix + "/" + name;
    fs::path full = dir_path / name;
    if (name.starts_with(kWhiteoutPrefix))
      throw Error(
          ErrorKind::BadInput,
          "name starting with .wh. (reserved for whiteouts) in layer source: " + full.string());
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      fail_errno("cannot stat", full.string());
    LayerEntry e;
    e.path = rel;
    e.mtime = static_cast<int64_t>(st.st_mtim.tv_sec);
    if (S_ISREG(st.st_mode)) {
      e.type = LayerEntry::Type::File;
      e.mode = (st.st_mode & S_IXUSR) ? 0755 : 0644;
      e.source = full;
      if (st.st_nlink > 1) {
        auto [it, fresh] = inodes.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        if (!fresh) {
          e.type = LayerEntry::Type::Hardlink;
          e.link_target = it->second;
          e.source.clear();
        }
      }
      entries.push_back(std::move(e));
    } else if (S_ISDIR(st.st_mode)) {
      e.type = LayerEntry::Type::Directory;
      e.mode = 0755;
      entries.push_back(std::move(e));
      UniqueFd child(
          ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child.get() < 0) fail_errno("cannot open directory", full.string());
      walk(child.get(), full, rel);
    } else if (S_ISLNK(st.st_mode)) {
      e.type = LayerEntry::Type::Symlink;
      e.mode = 0777;
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 0) + 1, '\0');
      for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n < 0) fail_errno("cannot read symlink", full.string());
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        if (target.size() > 65536)
          throw Error(ErrorKind::BadInput, "symlink target too long: " + full.string());
        target.resize(target.size() * 2);
      }
      if (target.empty()) throw Error(ErrorKind::BadInput, "empty symlink: " + full.string());
      e.link_target = std::move(target);
      entries.push_back(std::move(e));
    } else {
      throw Error(ErrorKind::BadInput,
                  "cannot put a socket, fifo or device into a layer: " + full.string());
    }
  }
};

LayerInfo write_prepared(const std::vector<LayerEntry>& entries, const fs::path& output,
                         const LayerOptions& options) {
  if (options.source_date_epoch < 0)
    throw Error(ErrorKind::BadInput, "negative source date epoch for layer " + output.string());
  Codec codec = codec_for(options.compression);
  ScopedUtf8Locale locale;
  AtomicFile file(output);
  BlobSink blob(file);
  std::unique_ptr<Compressor> compressor = make_compressor(codec, options.level, blob);
  TarSink sink;
  sink.compressor = compressor.get();
  TarWriter tar(sink);
  for (const LayerEntry& e : entries) tar.add(e, entry_mtime(e, options));
  tar.close();
  if (sink.error) std::rethrow_exception(sink.error);
  compressor->finish();
  blob.flush();
  file.commit();

  LayerInfo info;
  info.blob.media_type = std::string(layer_media_type(options.compression));
  info.blob.digest = blob.finish();
  info.blob.size = static_cast<int64_t>(blob.size());
  info.diff_id = sink.diff.finish();
  info.uncompressed_size = sink.size;
  info.entry_count = tar.count();
  return info;
}

}  // namespace

int64_t source_date_epoch_from_env(const char* value) {
  if (value == nullptr || *value == '\0') return 0;
  std::string_view text(value);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0 || text.front() == '+')
    throw Error(ErrorKind::BadInput,
                "SOURCE_DATE_EPOCH must be a non-negative integer of seconds, got '" +
                    std::string(text) + "'");
  return out;
}

std::string_view layer_media_type(LayerOptions::Compression compression) {
  switch (compression) {
    case LayerOptions::Compression::Gzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case LayerOptions::Compression::Zstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case LayerOptions::Compression::None:
      break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

bool layer_path_less(std::string_view a, std::string_view b) {
  // '/' ranks below every other byte, which orders paths component by
  // component: "a" < "a/b" < "a-b".
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

LayerEntry LayerEntry::file(std::string path, fs::path source, uint32_t mode) {
  LayerEntry e;
  e.type = Type::File;
  e.path = std::move(path);
  e.source = std::move(source);
  e.mode = mode;
  return e;
}

LayerEntry LayerEntry::bytes(std::string path, std::string content, uint32_t mode) {
  LayerEntry e;
  e.type = Type::File;
  e.path = std::move(path);
  e.content = std::move(content);
  e.mode = mode;
  return e;
}

LayerEntry LayerEntry::directory(std::string path, uint32_t mode) {
  LayerEntry e;
  e.type = Type::Directory;
  e.path = std::move(path);
  e.mode = mode;
  return e;
}

LayerEntry LayerEntry::symlink(std::string path, std::string target) {
  LayerEntry e;
  e.type = Type::Symlink;
  e.path = std::move(path);
  e.link_target = std::move(target);
  e.mode = 0777;
  return e;
}

LayerEntry LayerEntry::hardlink(std::string path, std::string target) {
  LayerEntry e;
  e.type = Type::Hardlink;
  e.path = std::move(path);
  e.link_target = std::move(target);
  return e;
}

LayerEntry LayerEntry::whiteout(std::string deleted_path) {
  LayerEntry e;
  e.type = Type::Whiteout;
  e.path = std::move(deleted_path);
  return e;
}

LayerEntry LayerEntry::opaque_whiteout(std::string directory) {
  LayerEntry e;
  e.type = Type::OpaqueWhiteout;
  e.path = std::move(directory);
  return e;
}

LayerInfo write_layer(std::vector<LayerEntry> entries, const fs::path& output,
                      const LayerOptions& options) {
  return write_prepared(prepare(std::move(entries)), output, options);
}

LayerInfo write_layer_from_directory(const fs::path& root, const fs::path& output,
                                     const LayerOptions& options) {
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.get() < 0) fail_errno("cannot open layer source directory", root.string());
  Walker walker;
  walker.walk(root_fd.get(), root, "");
  // Walk order depends on the file system; prepare() sorts and re-elects the
  // first path of each inode group as the data carrier.
  return write_prepared(prepare(std::move(walker.entries)), output, options);
}

}  // namespace envbuild::registry
