#include "tests/support/conda_channel_synthetic.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace envbuild::testing {
namespace {

// splitmix64: tiny, fast and good enough to spread synthetic values.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
};

const char* const kPopular[] = {"python",       "numpy", "libgcc-ng", "openssl", "ca-certificates",
                                "libstdcxx-ng", "zlib",  "pytorch",   "scipy",   "pandas"};

struct Build {
  size_t k;
  bool bz2;
  bool conda;
};

class Writer {
 public:
  Writer(const std::filesystem::path& path, const SyntheticRepodataOptions& options)
      : options_(options), file_(std::fopen(path.c_str(), "wb"), &std::fclose) {
    if (!file_) throw std::runtime_error("cannot write " + path.string());
    buffer_.reserve(kFlush + 64 * 1024);
  }

  SyntheticRepodataStats run() {
    plan_counts();
    const char* nl = options_.pretty ? "\n" : "";
    put("{");
    put(nl);
    indent(1);
    put("\"info\": {");
    put(nl);
    indent(2);
    put("\"subdir\": \"" + options_.subdir + "\"");
    put(nl);
    indent(1);
    put("},");
    put(nl);
    section("packages", false);
    put(",");
    put(nl);
    section("packages.conda", true);
    put(",");
    put(nl);
    indent(1);
    put("\"removed\": [],");
    put(nl);
    indent(1);
    put("\"repodata_version\": 1");
    put(nl);
    put("}");
    put(nl);
    flush();
    if (std::fflush(file_.get()) != 0) throw std::runtime_error("write failed");
    return std::move(stats_);
  }

 private:
  static constexpr size_t kFlush = 1 << 20;

  void put(std::string_view s) {
    buffer_.append(s);
    if (buffer_.size() >= kFlush) flush();
  }
  void flush() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
      throw std::runtime_error("write failed");
    }
    stats_.bytes += buffer_.size();
    buffer_.clear();
  }
  void indent(int level) {
    if (options_.pretty) buffer_.append(static_cast<size_t>(level) * 2, ' ');
  }

  // Zipf-like (s = 0.8) records per name, at least one each.
  void plan_counts() {
    size_t n = std::max<size_t>(1, options_.names);
    std::vector<double> weight(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i)
      total += weight[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.8);
    size_t left = options_.records;
    counts_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      size_t c = std::max<size_t>(
          1, static_cast<size_t>(static_cast<double>(options_.records) * weight[i] / total));
      if (i + 1 == n) c = std::max<size_t>(1, left);
      c = std::min(c, std::max<size_t>(1, left));
      counts_[i] = c;
      left -= std::min(left, c);
    }
    for (size_t i = 0; i < n; ++i) {
      stats_.names.push_back(synthetic_package_name(i));
      stats_.records_per_name.push_back(0);
    }
  }

  std::vector<Build> builds_of(size_t name) const {
    Random r{options_.seed * 0x100000001b3ULL + name};
    std::vector<Build> out;
    size_t entries = 0;
    for (size_t k = 0; entries < counts_[name]; ++k) {
      bool conda = r.unit() < options_.conda_share;
      bool both = !conda && entries + 2 <= counts_[name] && r.below(3) == 0;
      out.push_back({k, !conda, conda || both});
      entries += both ? 2 : 1;
    }
    return out;
  }

  void section(const char* key, bool conda) {
    const char* nl = options_.pretty ? "\n" : "";
    indent(1);
    put("\"");
    put(key);
    put("\": {");
    bool first = true;
    for (size_t i = 0; i < counts_.size(); ++i) {
      for (const Build& b : builds_of(i)) {
        if (conda ? !b.conda : !b.bz2) continue;
        if (!first) put(",");
        first = false;
        put(nl);
        record(i, b, conda);
        ++stats_.records;
        ++stats_.records_per_name[i];
        if (conda && b.bz2) ++stats_.duplicated;
      }
    }
    put(nl);
    indent(1);
    put("}");
  }

  static std::string hex(Random& r, size_t digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    while (out.size() < digits) {
      uint64_t v = r.next();
      for (int i = 0; i < 16 && out.size() < digits; ++i, v >>= 4) out += kHex[v & 15];
    }
    return out;
  }

  void record(size_t name_index, const Build& b, bool conda) {
    const std::string& name = stats_.names[name_index];
    // The same build gives the same fields in both sections but its own
    // hashes and size, as a transmuted package has.
    Random r{(options_.seed << 32) ^ (name_index * 1000003ULL + b.k)};
    std::string version = std::to_string(b.k / 40) + "." + std::to_string((b.k / 8) % 5) + "." +
                          std::to_string(b.k % 8);
    int64_t build_number = static_cast<int64_t>(r.below(4));
    bool noarch = name_index % 7 == 3;
    std::string build =
        (noarch ? std::string("pyhd8ed1ab") : "h" + hex(r, 7)) + "_" + std::to_string(build_number);
    Random h{r.next() ^ (conda ? 0x5555ULL : 0xaaaaULL)};
    const char* nl = options_.pretty ? "\n" : "";
    const char* sp = options_.pretty ? " " : "";
    auto field = [&](const char* k, const std::string& v, bool last = false) {
      indent(3);
      put("\"");
      put(k);
      put("\":");
      put(sp);
      put(v);
      if (!last) put(",");
      put(nl);
    };
    auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
    auto list = [&](const std::vector<std::string>& items) {
      if (items.empty()) return std::string("[]");
      std::string out = "[";
      out += nl;
      for (size_t i = 0; i < items.size(); ++i) {
        if (options_.pretty) out.append(8, ' ');
        out += quoted(items[i]);
        if (i + 1 < items.size()) out += ",";
        out += nl;
      }
      if (options_.pretty) out.append(6, ' ');
      return out + "]";
    };

    indent(2);
    put(quoted(name + "-" + version + "-" + build + (conda ? ".conda" : ".tar.bz2")));
    put(":");
    put(sp);
    put("{");
    put(nl);
    field("build", quoted(build));
    field("build_number", std::to_string(build_number));
    if (r.below(4) == 0) field("constrains", list({stats_.names[r.below(50)] + " >=1.0"}));
    std::vector<std::string> depends;
    size_t n_deps = 2 + r.below(9);
    for (size_t d = 0; d < n_deps; ++d) {
      double u = r.unit();
      size_t dep = static_cast<size_t>(static_cast<double>(counts_.size()) * u * u * u);
      if (dep == name_index) continue;
      depends.push_back(stats_.names[dep] + " >=" + std::to_string(r.below(5)) + "." +
                        std::to_string(r.below(20)) + ",<" + std::to_string(r.below(5) + 5) +
                        ".0a0");
    }
    field("depends", list(depends));
    field("license", quoted(r.below(2) ? "BSD-3-Clause" : "MIT"));
    field("license_family", quoted(r.below(2) ? "BSD" : "MIT"));
    field("md5", quoted(hex(h, 32)));
    field("name", quoted(name));
    if (noarch) field("noarch", quoted("python"));
    field("sha256", quoted(hex(h, 64)));
    field("size", std::to_string(10'000 + h.below(50'000'000)));
    field("subdir", quoted(noarch ? "noarch" : options_.subdir));
    field("timestamp",
          std::to_string(1'600'000'000'000LL + static_cast<int64_t>(r.below(100'000'000'000ULL))));
    if (r.below(50) == 0) field("track_features", quoted("synthetic_feature"));
    field("version", quoted(version), true);
    indent(2);
    put("}");
  }

  const SyntheticRepodataOptions& options_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
  std::string buffer_;
  std::vector<size_t> counts_;
  SyntheticRepodataStats stats_;
};

}  // namespace

std::string synthetic_package_name(size_t i) {
  constexpr size_t kPopularCount = sizeof(kPopular) / sizeof(kPopular[0]);
  if (i < kPopularCount) return kPopular[i];
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "synth-pkg-%06zu", i);
  return buffer;
}

SyntheticRepodataStats write_synthetic_repodata(const std::filesystem::path& path,
                                                const SyntheticRepodataOptions& options) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  return Writer(path, options).run();
}

}  // namespace envbuild::testing
