#include "builder/conda/fetch/verification_marker.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <vector>

#include "builder/conda/fetch/partial_file.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {
namespace {

constexpr std::string_view kHeader = "envbuild conda archive verified v1";
constexpr size_t kMaxMarker = 4096;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_lower_hex(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::string format_marker(const VerificationMarker& m) {
  std::string out(kHeader);
  out += "\nsha256 " + m.digests.sha256;
  out += "\nmd5 " + m.digests.md5;
  out += "\nsize " + std::to_string(m.digests.size);
  out += "\ndevice " + std::to_string(m.archive.device);
  out += "\ninode " + std::to_string(m.archive.inode);
  out += "\nmtime_ns " + std::to_string(m.archive.mtime_ns);
  out += "\n";
  return out;
}

std::optional<VerificationMarker> parse_marker(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;  // a torn write
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  static constexpr std::string_view kKeys[] = {"sha256 ", "md5 ",   "size ",
                                               "device ", "inode ", "mtime_ns "};
  if (lines.size() != 7 || lines[0] != kHeader) return std::nullopt;
  std::string_view values[6];
  for (size_t i = 0; i < 6; ++i) {
    if (!lines[i + 1].starts_with(kKeys[i])) return std::nullopt;
    values[i] = lines[i + 1].substr(kKeys[i].size());
  }
  VerificationMarker m;
  if (!is_lower_hex(values[0], 64)) return std::nullopt;
  if (!values[1].empty() && !is_lower_hex(values[1], 32)) return std::nullopt;
  m.digests.sha256 = std::string(values[0]);
  m.digests.md5 = std::string(values[1]);
  if (!parse_number(values[2], m.digests.size) || !parse_number(values[3], m.archive.device) ||
      !parse_number(values[4], m.archive.inode) || !parse_number(values[5], m.archive.mtime_ns)) {
    return std::nullopt;
  }
  m.archive.size = m.digests.size;
  return m;
}

bool marker_vouches(const VerificationMarker& marker, int64_t marker_mtime_ns,
                    const FileStamp& archive, const PackageRecord& record) {
  if (!(marker.archive == archive)) return false;
  if (archive.mtime_ns >= marker_mtime_ns) return false;  // racy: could have changed unseen
  if (record.size != 0 && marker.digests.size != record.size) return false;
  if (!record.sha256.empty()) return marker.digests.sha256 == lower(record.sha256);
  if (!record.md5.empty()) return marker.digests.md5 == lower(record.md5);
  return true;  // no digest to compare: the stamp alone says it is what was fetched
}

std::optional<FileStamp> stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  FileStamp s;
  s.device = static_cast<uint64_t>(st.st_dev);
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = mtime_ns_of(st);
  return s;
}

std::optional<std::pair<VerificationMarker, int64_t>> read_marker(
    const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > kMaxMarker) {
    return std::nullopt;
  }
  char buffer[kMaxMarker];
  size_t got = 0;
  while (got < sizeof buffer) {
    ssize_t n = ::read(fd.get(), buffer + got, sizeof buffer - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  auto marker = parse_marker(std::string_view(buffer, got));
  if (!marker) return std::nullopt;
  return std::make_pair(*marker, mtime_ns_of(st));
}

void write_marker(const std::filesystem::path& path, const VerificationMarker& marker) {
  write_file_replacing(path, format_marker(marker));
}

}  // namespace envbuild::builder::conda
