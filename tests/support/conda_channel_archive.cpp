#include "tests/support/conda_channel_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include <ctime>
#include <memory>
#include <stdexcept>

#include "registry/digest.hpp"

namespace envbuild::testing {
namespace {

struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append_to_string(archive*, void* user, const void* data, size_t size) {
  static_cast<std::string*>(user)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

void check(archive* a, int r, const char* what) {
  if (r < ARCHIVE_WARN) {
    const char* m = archive_error_string(a);
    throw std::runtime_error(std::string(what) + ": " + (m != nullptr ? m : "libarchive error"));
  }
}

// libarchive pads its output to 10 KiB blocks by default, after any
// compression filter: zeros after a zstd or bzip2 stream are trailing
// garbage to other readers. Writers here never pad the output (a tar stream
// still ends with its two zero records).
std::unique_ptr<archive, WriteDeleter> new_writer() {
  std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
  if (!a) throw std::runtime_error("archive_write_new failed");
  check(a.get(), archive_write_set_bytes_in_last_block(a.get(), 1), "block padding");
  return a;
}

void add_filter(archive* a, ArchiveCompression compression, int zstd_level) {
  switch (compression) {
    case ArchiveCompression::None:
      break;
    case ArchiveCompression::Zstd: {
      check(a, archive_write_add_filter_zstd(a), "zstd filter");
      std::string level = std::to_string(zstd_level);
      check(a, archive_write_set_filter_option(a, "zstd", "compression-level", level.c_str()),
            "zstd level");
      break;
    }
    case ArchiveCompression::Bzip2:
      check(a, archive_write_add_filter_bzip2(a), "bzip2 filter");
      break;
  }
}

void write_entry(archive* a, archive_entry* e, const std::string& data) {
  check(a, archive_write_header(a, e), "archive header");
  if (!data.empty()) {
    la_ssize_t n = archive_write_data(a, data.data(), data.size());
    if (n < 0 || static_cast<size_t>(n) != data.size()) check(a, ARCHIVE_FATAL, "archive data");
  }
}

std::unique_ptr<archive_entry, EntryDeleter> new_entry(const std::string& path, int64_t mtime) {
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), path.c_str());
  archive_entry_set_mtime(e.get(), static_cast<time_t>(mtime), 0);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  return e;
}

}  // namespace

std::string write_tar(const std::vector<ArchiveMember>& members, ArchiveCompression compression,
                      int64_t mtime, int zstd_level) {
  std::string out;
  auto a = new_writer();
  check(a.get(), archive_write_set_format_pax_restricted(a.get()), "tar format");
  add_filter(a.get(), compression, zstd_level);
  check(a.get(), archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr), "open");
  for (const ArchiveMember& m : members) {
    auto e = new_entry(m.path, mtime);
    switch (m.type) {
      case ArchiveMember::Type::File:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), m.mode & 07777);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(m.content.size()));
        write_entry(a.get(), e.get(), m.content);
        break;
      case ArchiveMember::Type::Symlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_perm(e.get(), 0777);
        archive_entry_set_symlink(e.get(), m.link_target.c_str());
        write_entry(a.get(), e.get(), "");
        break;
      case ArchiveMember::Type::Directory:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_perm(e.get(), m.mode & 07777);
        write_entry(a.get(), e.get(), "");
        break;
    }
  }
  check(a.get(), archive_write_close(a.get()), "close");
  return out;
}

std::string write_stored_zip(const std::vector<std::pair<std::string, std::string>>& members,
                             int64_t mtime) {
  // Written by hand rather than with libarchive: its streaming zip writer
  // cannot know a member's CRC before the data and so always adds data
  // descriptors, which real .conda files never have and streaming readers
  // of stored members cannot handle. Sizes and CRCs are known here.
  auto u16 = [](std::string& out, uint32_t v) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>((v >> 8) & 0xff);
  };
  auto u32 = [&](std::string& out, uint32_t v) {
    u16(out, v & 0xffff);
    u16(out, v >> 16);
  };
  // MS-DOS date and time of `mtime` (UTC), as zip stores them.
  std::time_t t = static_cast<std::time_t>(mtime);
  std::tm tm{};
  gmtime_r(&t, &tm);
  if (tm.tm_year < 80) tm = std::tm{0, 0, 0, 1, 0, 80, 0, 0, 0, 0, nullptr};
  uint32_t dos_time =
      static_cast<uint32_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  uint32_t dos_date =
      static_cast<uint32_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);

  std::string out, central;
  for (const auto& [name, data] : members) {
    if (data.size() > 0xfffffffeULL || out.size() > 0xfffffffeULL) {
      throw std::runtime_error("zip members over 4 GiB need zip64, which this writer lacks");
    }
    uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    uint32_t offset = static_cast<uint32_t>(out.size());
    auto header = [&](std::string& h, bool central_entry) {
      u32(h, central_entry ? 0x02014b50 : 0x04034b50);
      if (central_entry) u16(h, (3 << 8) | 20);  // made by: Unix, zip 2.0
      u16(h, 20);                                // version needed
      u16(h, 0);                                 // flags: no data descriptor
      u16(h, 0);                                 // stored
      u16(h, dos_time);
      u16(h, dos_date);
      u32(h, crc);
      u32(h, static_cast<uint32_t>(data.size()));
      u32(h, static_cast<uint32_t>(data.size()));
      u16(h, static_cast<uint32_t>(name.size()));
      u16(h, 0);  // extra
      if (central_entry) {
        u16(h, 0);            // comment
        u16(h, 0);            // disk
        u16(h, 0);            // internal attributes
        u32(h, 0644u << 16);  // external: Unix mode
        u32(h, offset);
      }
      h += name;
    };
    header(out, false);
    out += data;
    header(central, true);
  }
  uint32_t central_offset = static_cast<uint32_t>(out.size());
  out += central;
  u32(out, 0x06054b50);
  u16(out, 0);
  u16(out, 0);
  u16(out, static_cast<uint32_t>(members.size()));
  u16(out, static_cast<uint32_t>(members.size()));
  u32(out, static_cast<uint32_t>(central.size()));
  u32(out, central_offset);
  u16(out, 0);
  return out;
}

std::string compress_bytes(const std::string& data, ArchiveCompression compression,
                           int zstd_level) {
  if (compression == ArchiveCompression::None) return data;
  if (compression == ArchiveCompression::Zstd) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), zstd_level);
    if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  std::string out;
  auto a = new_writer();
  check(a.get(), archive_write_set_format_raw(a.get()), "raw format");
  add_filter(a.get(), compression, zstd_level);
  check(a.get(), archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr), "open");
  auto e = new_entry("data", 0);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
  write_entry(a.get(), e.get(), data);
  check(a.get(), archive_write_close(a.get()), "close");
  return out;
}

std::string sha256_hex(const std::string& data) { return registry::Digest::sha256_of(data).hex(); }

std::string md5_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("md5 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace envbuild::testing
