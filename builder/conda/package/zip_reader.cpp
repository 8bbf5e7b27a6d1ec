#include "builder/conda/package/zip_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EocdSize = 56;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;
constexpr size_t kMaxComment = 0xffff;
// A .conda has three members; the bounds only stop a hostile directory from
// costing memory.
constexpr uint64_t kMaxMembers = 4096;
constexpr uint64_t kMaxDirectoryBytes = 16 << 20;

uint16_t u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t u64(const unsigned char* p) {
  return static_cast<uint64_t>(u32(p)) | (static_cast<uint64_t>(u32(p + 4)) << 32);
}

class Bad {
 public:
  explicit Bad(const std::filesystem::path& path) : name_(path.string()) {}
  [[noreturn]] void operator()(const std::string& why) const {
    throw Error(ErrorKind::BadInput, name_ + ": not a valid .conda (zip) archive: " + why);
  }

 private:
  std::string name_;
};

void pread_exact(int fd, void* buf, size_t n, uint64_t offset, const std::filesystem::path& path) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::Internal,
                  "cannot read " + path.string() + ": " + std::strerror(errno));
    }
    if (got == 0) Bad{path}("unexpected end of file");
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

// Pulls a member's raw bytes, inflates them when deflated, and checks the
// declared size and CRC-32 once the end is reached.
class MemberStream : public registry::ByteSource {
 public:
  MemberStream(int fd, std::filesystem::path path, ZipMember member)
      : fd_(fd), path_(std::move(path)), m_(std::move(member)) {
    if (m_.method == 8) {
      std::memset(&z_, 0, sizeof z_);
      if (inflateInit2(&z_, -MAX_WBITS) != Z_OK)
        throw Error(ErrorKind::Internal, "zlib inflateInit failed");
      inflating_ = true;
      in_.resize(1 << 16);
    }
  }
  ~MemberStream() override {
    if (inflating_) inflateEnd(&z_);
  }
  MemberStream(const MemberStream&) = delete;
  MemberStream& operator=(const MemberStream&) = delete;

  size_t read(char* buf, size_t n) override {
    if (n == 0 || done_) return 0;
    size_t got = m_.method == 8 ? inflate_some(buf, n) : raw(buf, n);
    produced_ += got;
    if (produced_ > m_.uncompressed_size) bad("member " + m_.name + " is longer than declared");
    crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(buf), got);
    if (got == 0) finish();
    return got;
  }

 private:
  [[noreturn]] void bad(const std::string& why) const { Bad{path_}(why); }

  size_t raw(char* buf, size_t n) {
    uint64_t left = m_.compressed_size - consumed_;
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, left));
    if (want == 0) return 0;
    pread_exact(fd_, buf, want, m_.data_offset + consumed_, path_);
    consumed_ += want;
    return want;
  }

  size_t inflate_some(char* buf, size_t n) {
    if (stream_end_) return 0;
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    while (z_.avail_out > 0 && !stream_end_) {
      if (z_.avail_in == 0) {
        size_t got = raw(in_.data(), in_.size());
        if (got == 0) bad("deflated member " + m_.name + " is truncated");
        z_.next_in = reinterpret_cast<Bytef*>(in_.data());
        z_.avail_in = static_cast<uInt>(got);
      }
      int rc = ::inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        stream_end_ = true;
      } else if (rc != Z_OK) {
        bad("deflated member " + m_.name + " is corrupt");
      }
    }
    return static_cast<size_t>(reinterpret_cast<char*>(z_.next_out) - buf);
  }

  void finish() {
    done_ = true;
    if (produced_ != m_.uncompressed_size) bad("member " + m_.name + " is shorter than declared");
    if (m_.method == 8 && (z_.avail_in != 0 || consumed_ != m_.compressed_size))
      bad("deflated member " + m_.name + " has trailing bytes");
    if (crc_ != m_.crc32) bad("member " + m_.name + " fails its CRC-32 check");
  }

  int fd_;
  std::filesystem::path path_;
  ZipMember m_;
  uint64_t consumed_ = 0;
  uint64_t produced_ = 0;
  uLong crc_ = crc32_z(0L, Z_NULL, 0);
  bool done_ = false;
  z_stream z_{};
  bool inflating_ = false;
  bool stream_end_ = false;
  std::vector<char> in_;
};

}  // namespace

ZipReader::ZipReader(const std::filesystem::path& path) : path_(path) {
  Bad bad(path);
  fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_.valid())
    throw Error(errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Internal,
                "cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) bad("not a regular file");
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ < kEocdSize) bad("too short");

  // The end-of-central-directory record sits in the last 22 + comment bytes;
  // search backwards for a signature whose comment length reaches exactly the
  // end of the file.
  size_t tail_len = static_cast<size_t>(std::min<uint64_t>(size_, kEocdSize + kMaxComment));
  uint64_t tail_off = size_ - tail_len;
  std::vector<unsigned char> tail(tail_len);
  pread_exact(fd_.get(), tail.data(), tail_len, tail_off, path);
  size_t eocd = std::string::npos;
  for (size_t i = tail_len - kEocdSize + 1; i-- > 0;) {
    if (u32(&tail[i]) == kEocdSig && i + kEocdSize + u16(&tail[i + 20]) == tail_len) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) bad("no end of central directory record");
  const unsigned char* e = &tail[eocd];
  uint64_t eocd_pos = tail_off + eocd;
  uint64_t disk = u16(e + 4), cd_disk = u16(e + 6);
  uint64_t count_disk = u16(e + 8), count = u16(e + 10);
  uint64_t cd_size = u32(e + 12), cd_offset = u32(e + 16);
  uint64_t directory_end = eocd_pos;  // the directory may not run into the end records

  if (eocd_pos >= kZip64LocatorSize) {
    unsigned char loc[kZip64LocatorSize];
    pread_exact(fd_.get(), loc, sizeof loc, eocd_pos - kZip64LocatorSize, path);
    if (u32(loc) == kZip64LocatorSig) {
      uint64_t z64_pos = u64(loc + 8);
      if (u32(loc + 4) != 0 || u32(loc + 16) > 1) bad("multi-disk archives are not supported");
      if (z64_pos + kZip64EocdSize > eocd_pos - kZip64LocatorSize)
        bad("zip64 end record out of range");
      unsigned char z[kZip64EocdSize];
      pread_exact(fd_.get(), z, sizeof z, z64_pos, path);
      if (u32(z) != kZip64EocdSig) bad("bad zip64 end record signature");
      disk = u32(z + 16);
      cd_disk = u32(z + 20);
      count_disk = u64(z + 24);
      count = u64(z + 32);
      cd_size = u64(z + 40);
      cd_offset = u64(z + 48);
      directory_end = z64_pos;
    }
  }
  if (disk != 0 || cd_disk != 0 || count_disk != count)
    bad("multi-disk archives are not supported");
  if (count > kMaxMembers) bad("too many members (" + std::to_string(count) + ")");
  if (cd_size > kMaxDirectoryBytes) bad("central directory too large");
  if (cd_offset > directory_end || cd_size > directory_end - cd_offset)
    bad("central directory out of range");

  std::vector<unsigned char> cd(static_cast<size_t>(cd_size));
  if (cd_size) pread_exact(fd_.get(), cd.data(), cd.size(), cd_offset, path);
  size_t pos = 0;
  std::set<std::string> names;
  for (uint64_t i = 0; i < count; ++i) {
    if (pos + kCentralSize > cd.size()) bad("central directory truncated");
    const unsigned char* c = &cd[pos];
    if (u32(c) != kCentralSig) bad("bad central directory signature");
    ZipMember m;
    m.flags = u16(c + 8);
    m.method = u16(c + 10);
    m.crc32 = u32(c + 16);
    m.compressed_size = u32(c + 20);
    m.uncompressed_size = u32(c + 24);
    size_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    uint32_t start_disk = u16(c + 34);
    m.local_header_offset = u32(c + 42);
    if (pos + kCentralSize + name_len + extra_len + comment_len > cd.size())
      bad("central directory entry truncated");
    m.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    // Zip64 extended information: the 64-bit values, in this order, for the
    // fields whose 32-bit slots hold 0xffffffff.
    const unsigned char* x = c + kCentralSize + name_len;
    const unsigned char* x_end = x + extra_len;
    while (x + 4 <= x_end) {
      uint16_t id = u16(x), len = u16(x + 2);
      if (x + 4 + len > x_end) bad("extra field truncated in " + m.name);
      if (id == 0x0001) {
        const unsigned char* v = x + 4;
        const unsigned char* v_end = v + len;
        auto take = [&](uint64_t& field) {
          if (field != 0xffffffffu) return;
          if (v + 8 > v_end) bad("zip64 extra field too short in " + m.name);
          field = u64(v);
          v += 8;
        };
        take(m.uncompressed_size);
        take(m.compressed_size);
        take(m.local_header_offset);
        if (start_disk == 0xffff && v + 4 <= v_end) start_disk = u32(v);
      }
      x += 4 + len;
    }
    pos += kCentralSize + name_len + extra_len + comment_len;
    if (start_disk != 0) bad("multi-disk archives are not supported");
    if (m.name.empty() || m.name.find('\0') != std::string::npos)
      bad("member with an invalid name");
    if (!names.insert(m.name).second) bad("duplicate member " + m.name);
    if (m.flags & 0x0041) bad("member " + m.name + " is encrypted");
    if (m.method != 0 && m.method != 8)
      bad("member " + m.name + " uses compression method " + std::to_string(m.method) +
          " (only stored and deflate are read)");
    if (m.method == 0 && m.compressed_size != m.uncompressed_size)
      bad("stored member " + m.name + " has different compressed and uncompressed sizes");

    if (m.local_header_offset > cd_offset || cd_offset - m.local_header_offset < kLocalSize)
      bad("local header of " + m.name + " out of range");
    unsigned char lh[kLocalSize];
    pread_exact(fd_.get(), lh, sizeof lh, m.local_header_offset, path);
    if (u32(lh) != kLocalSig) bad("bad local header signature for " + m.name);
    uint64_t local_name_len = u16(lh + 26), local_extra_len = u16(lh + 28);
    m.data_offset = m.local_header_offset + kLocalSize + local_name_len + local_extra_len;
    if (local_name_len != name_len) bad("local header name of " + m.name + " differs");
    std::string local_name(name_len, '\0');
    if (name_len)
      pread_exact(fd_.get(), local_name.data(), name_len, m.local_header_offset + kLocalSize, path);
    if (local_name != m.name) bad("local header name of " + m.name + " differs");
    if (m.data_offset > cd_offset || m.compressed_size > cd_offset - m.data_offset)
      bad("data of " + m.name + " out of range");
    members_.push_back(std::move(m));
  }
  if (pos != cd.size()) bad("central directory has trailing bytes");

  // Overlapping members are how "zip bombs" reuse one payload many times.
  std::vector<const ZipMember*> by_offset;
  for (const ZipMember& m : members_) by_offset.push_back(&m);
  std::sort(by_offset.begin(), by_offset.end(), [](const ZipMember* a, const ZipMember* b) {
    return a->local_header_offset < b->local_header_offset;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const ZipMember* prev = by_offset[i - 1];
    if (prev->data_offset + prev->compressed_size > by_offset[i]->local_header_offset)
      bad("members " + prev->name + " and " + by_offset[i]->name + " overlap");
  }
}

const ZipMember* ZipReader::find(std::string_view name) const {
  for (const ZipMember& m : members_)
    if (m.name == name) return &m;
  return nullptr;
}

std::unique_ptr<registry::ByteSource> ZipReader::open(const ZipMember& member) const {
  return std::make_unique<MemberStream>(fd_.get(), path_, member);
}

}  // namespace envbuild::builder::conda
