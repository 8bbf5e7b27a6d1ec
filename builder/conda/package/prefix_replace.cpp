#include "builder/conda/package/prefix_replace.hpp"

#include "registry/error.hpp"

namespace envbuild::builder::conda {

std::string replace_prefix_text(std::string_view data, std::string_view placeholder,
                                std::string_view prefix) {
  if (placeholder.empty()) return std::string(data);
  std::string out;
  out.reserve(data.size());
  size_t pos = 0;
  for (size_t hit; (hit = data.find(placeholder, pos)) != std::string_view::npos;) {
    out.append(data, pos, hit - pos);
    out.append(prefix);
    pos = hit + placeholder.size();
  }
  out.append(data, pos, std::string_view::npos);
  return out;
}

std::string replace_prefix_binary(std::string_view data, std::string_view placeholder,
                                  std::string_view prefix, std::string_view what) {
  if (placeholder.empty()) return std::string(data);
  std::string out;
  out.reserve(data.size());
  size_t pos = 0;
  for (size_t hit; (hit = data.find(placeholder, pos)) != std::string_view::npos;) {
    if (prefix.size() > placeholder.size())
      throw Error(ErrorKind::BadInput,
                  std::string(what) + ": the prefix " + std::string(prefix) + " (" +
                      std::to_string(prefix.size()) +
                      " bytes) is longer than the binary prefix placeholder (" +
                      std::to_string(placeholder.size()) + " bytes); choose a shorter prefix");
    out.append(data, pos, hit - pos);
    // The C string runs from the placeholder to the next NUL (or the end).
    size_t end = data.find('\0', hit + placeholder.size());
    if (end == std::string_view::npos) end = data.size();
    std::string_view str = data.substr(hit, end - hit);
    size_t count = 0;
    size_t spos = 0;
    for (size_t s; (s = str.find(placeholder, spos)) != std::string_view::npos;) {
      out.append(str, spos, s - spos);
      out.append(prefix);
      spos = s + placeholder.size();
      ++count;
    }
    out.append(str, spos, std::string_view::npos);
    size_t padding = count * (placeholder.size() - prefix.size());
    if (end < data.size()) {
      out.push_back('\0');  // the terminator, then the padding after it
      pos = end + 1;
    } else {
      pos = end;
    }
    out.append(padding, '\0');
  }
  out.append(data, pos, std::string_view::npos);
  return out;
}

std::string shorten_long_shebang(std::string data) {
  if (!data.starts_with("#!")) return data;
  size_t eol = data.find('\n');
  std::string_view line(data.data(), eol == std::string::npos ? data.size() : eol);
  if (line.size() <= kMaxShebangLength) return data;
  size_t i = 2;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i >= line.size() || line[i] != '/') return data;
  // The executable runs to the first unescaped blank ("\ " is escaped).
  size_t exe_start = i;
  while (i < line.size()) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == ' ') {
      i += 2;
      continue;
    }
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') break;
    ++i;
  }
  std::string_view exe = line.substr(exe_start, i - exe_start);
  std::string_view options = line.substr(i);
  std::string_view exe_name = exe.substr(exe.rfind('/') + 1);
  std::string shebang = "#!/usr/bin/env " + std::string(exe_name) + std::string(options);
  return shebang + data.substr(line.size());
}

std::string replace_prefix(std::string_view data, FileMode mode, std::string_view placeholder,
                           std::string_view prefix, std::string_view what) {
  if (placeholder.empty()) return std::string(data);
  if (mode == FileMode::Binary) return replace_prefix_binary(data, placeholder, prefix, what);
  return shorten_long_shebang(replace_prefix_text(data, placeholder, prefix));
}

}  // namespace envbuild::builder::conda
