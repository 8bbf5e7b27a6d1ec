#include "tests/support/conda_repodata_generator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "builder/conda/match_spec.hpp"
#include "builder/conda/version.hpp"
#include "registry/error.hpp"

namespace envbuild::testing {

using builder::conda::CondaVersion;
using builder::conda::MatchSpec;

namespace {

// splitmix64: the same numbers on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // [0, n)
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  // [lo, hi]
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + below(hi - lo + 1); }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  bool chance(double p) { return unit() < p; }

 private:
  uint64_t state_;
};

std::string hex_hash(uint64_t x) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(x & 0xffffffffULL));
  return buf;
}

void fill_file_fields(PackageRecord& r) {
  r.filename = r.name + "-" + r.version + "-" + r.build + ".conda";
  r.url = r.channel + "/" + r.subdir + "/" + r.filename;
  r.sha256 = std::string(64, '0');
  r.size = 1000;
}

struct Version {
  int major, minor, patch;
  std::string text() const {
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  }
  std::string series() const { return std::to_string(major) + "." + std::to_string(minor); }
};

std::vector<Version> version_list(Rng& rng, std::size_t count) {
  std::vector<Version> out;
  Version v{static_cast<int>(rng.between(0, 2)), static_cast<int>(rng.between(0, 9)), 0};
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(v);
    double r = rng.unit();
    if (r < 0.55) {
      v.patch += 1;
    } else if (r < 0.9) {
      v.minor += 1;
      v.patch = 0;
    } else {
      v.major += 1;
      v.minor = 0;
      v.patch = 0;
    }
  }
  return out;
}

std::string name_of(std::size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "p%05zu", i);
  return buf;
}

// A depends entry on `name`, whose versions are `vs`, as packages write them:
// mostly open or lower-bounded (the newest version fits), sometimes with the
// next major as upper bound, rarely a range or series that leaves the newest
// versions out (those make the search work).
std::string dependency_on(Rng& rng, const std::string& name, const std::vector<Version>& vs,
                          double tight_rate) {
  std::size_t n = vs.size();
  if (n > 0 && rng.chance(tight_rate)) {
    if (rng.chance(0.6)) {
      std::size_t a = rng.below(n);
      std::size_t b = std::min(n - 1, a + 1 + rng.below(n));
      if (b > a) return name + " >=" + vs[a].text() + ",<" + vs[b].text();
    }
    return name + " " + vs[rng.below(n)].series() + ".*";
  }
  double r = rng.unit();
  if (r < 0.45 || n == 0) return name;
  const Version& low = vs[rng.below((n + 1) / 2)];
  if (r < 0.85) return name + " >=" + low.text();
  return name + " >=" + low.text() + ",<" + std::to_string(vs.back().major + 1);
}

bool channel_ok(const MatchSpec& spec, const PackageRecord& r) {
  if (spec.subdir && *spec.subdir != r.subdir) return false;
  if (!spec.channel) return true;
  std::string want = *spec.channel;
  std::string have = r.channel;
  while (!have.empty() && have.back() == '/') have.pop_back();
  return have == want || (have.size() > want.size() && have.ends_with("/" + want));
}

// Decides validity of installations over one set of records; specs and
// versions are parsed once, so exhaustive search stays cheap.
class Checker {
 public:
  Checker(const std::vector<PackageRecord>& all_records, const std::vector<std::string>& specs,
          const std::vector<PackageRecord>& virtual_packages, bool strict)
      : virtuals_(virtual_packages), spec_texts_(specs) {
    for (const std::string& t : specs) {
      requested_.push_back(MatchSpec::parse(t));
      if (requested_.back().channel) channel_named_.insert(requested_.back().name);
    }
    if (strict)
      for (const PackageRecord& r : all_records) {
        auto [it, fresh] = best_priority_.try_emplace(r.name, r.channel_priority);
        if (!fresh) it->second = std::min(it->second, r.channel_priority);
      }
  }

  std::string check(const std::vector<const PackageRecord*>& installed) {
    std::map<std::string, const PackageRecord*> by_name;
    for (const PackageRecord* r : installed) {
      if (r->is_virtual()) return "virtual package " + r->name + " is installed";
      if (!by_name.emplace(r->name, r).second) return "two records of " + r->name;
    }
    auto present = [&](const std::string& name) {
      std::vector<const PackageRecord*> out;
      if (auto it = by_name.find(name); it != by_name.end()) out.push_back(it->second);
      for (const PackageRecord& v : virtuals_)
        if (v.name == name) out.push_back(&v);
      return out;
    };
    auto met = [&](const MatchSpec& spec) {
      for (const PackageRecord* r : present(spec.name))
        if (matches(spec, *r)) return true;
      return false;
    };
    for (std::size_t i = 0; i < requested_.size(); ++i)
      if (!met(requested_[i])) return "requested " + spec_texts_[i] + " is not met";
    for (const PackageRecord* r : installed) {
      for (const std::string& d : r->depends)
        if (!met(spec(d))) return r->dist_name() + " needs " + d + ", not met";
      for (const std::string& c : r->constrains) {
        const MatchSpec& limit = spec(c);
        for (const PackageRecord* other : present(limit.name))
          if (!matches(limit, *other))
            return r->dist_name() + " constrains " + c + " but " + other->dist_name() +
                   " is present";
      }
      if (auto it = best_priority_.find(r->name); it != best_priority_.end() &&
                                                  !channel_named_.count(r->name) &&
                                                  it->second != r->channel_priority)
        return r->dist_name() + " is from a lower-priority channel than another " + r->name;
    }
    return "";
  }

 private:
  const MatchSpec& spec(const std::string& text) {
    auto it = specs_.find(text);
    if (it == specs_.end()) it = specs_.emplace(text, MatchSpec::parse(text)).first;
    return it->second;
  }
  bool matches(const MatchSpec& spec, const PackageRecord& r) {
    if (r.name != spec.name || !channel_ok(spec, r)) return false;
    auto it = versions_.find(r.version);
    if (it == versions_.end())
      it = versions_.emplace(r.version, CondaVersion::parse(r.version)).first;
    return spec.matches(r.name, it->second, r.build, static_cast<int>(r.build_number));
  }

  const std::vector<PackageRecord>& virtuals_;
  const std::vector<std::string>& spec_texts_;
  std::vector<MatchSpec> requested_;
  std::set<std::string> channel_named_;
  std::map<std::string, int> best_priority_;  // strict only
  std::map<std::string, MatchSpec> specs_;
  std::map<std::string, CondaVersion> versions_;
};

}  // namespace

PackageRecord make_record(const std::string& name, const std::string& version,
                          std::vector<std::string> depends, int64_t build_number,
                          const std::string& build) {
  PackageRecord r;
  r.name = name;
  r.version = version;
  r.build_number = build_number;
  r.build = build.empty() ? "h0_" + std::to_string(build_number) : build;
  r.depends = std::move(depends);
  r.subdir = "linux-64";
  r.channel = kMainChannel;
  r.channel_priority = 0;
  fill_file_fields(r);
  return r;
}

std::vector<PackageRecord> linux_virtual_packages(const std::string& glibc) {
  std::vector<PackageRecord> out;
  auto add = [&](const std::string& name, const std::string& version, const std::string& build) {
    PackageRecord r;
    r.name = name;
    r.version = version;
    r.build = build;
    r.subdir = "linux-64";
    r.channel = "@";
    r.channel_priority = -1;
    out.push_back(std::move(r));
  };
  add("__glibc", glibc, "0");
  add("__linux", "6.1.0", "0");
  add("__unix", "0", "0");
  add("__archspec", "1", "x86_64");
  return out;
}

std::vector<PackageRecord> generate_repodata(const RepodataShape& shape, uint64_t seed) {
  Rng rng(seed);
  std::size_t core = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(shape.names * shape.core_fraction)));
  std::vector<std::vector<Version>> versions(shape.names);
  std::vector<bool> noarch(shape.names);
  for (std::size_t i = 0; i < shape.names; ++i) {
    std::size_t count = std::max<std::size_t>(
        1, shape.versions / 2 + rng.below(shape.versions + 1));  // about `versions` on average
    versions[i] = version_list(rng, count);
    noarch[i] = i >= core && rng.chance(shape.noarch_rate);
  }
  std::vector<PackageRecord> out;
  int64_t clock = 1600000000000;
  for (std::size_t i = 0; i < shape.names; ++i) {
    const std::string name = name_of(i);
    for (std::size_t k = 0; k < versions[i].size(); ++k) {
      const Version& v = versions[i][k];
      bool newest = k + 1 == versions[i].size();
      // This version's dependencies: skewed to low (core) names.
      std::size_t fanout = std::min(i, rng.between(shape.min_fanout, shape.max_fanout));
      std::set<std::size_t> targets;
      for (std::size_t tries = 0; targets.size() < fanout && tries < 4 * fanout; ++tries) {
        double u = rng.unit();
        std::size_t t = static_cast<std::size_t>(static_cast<double>(i) * std::pow(u, shape.skew));
        if (t < i) targets.insert(t);
      }
      std::vector<std::string> depends;
      std::optional<std::size_t> core_target;
      for (std::size_t t : targets) {
        if (t < core && !core_target) {
          core_target = t;
          continue;  // written per build below
        }
        depends.push_back(dependency_on(rng, name_of(t), versions[t], shape.tight_rate));
      }
      if (rng.chance(shape.glibc_rate))
        depends.push_back(newest && rng.chance(0.2) ? "__glibc >=2.34" : "__glibc >=2.17");
      if (shape.missing_rate > 0 && k > 0 && rng.chance(shape.missing_rate))
        depends.push_back(rng.chance(0.5) ? "missing-" + name_of(i) : name_of(i / 2) + " >=99");
      std::vector<std::string> constrains;
      if (i > 0 && rng.chance(shape.constrains_rate)) {
        std::size_t t = rng.below(i);
        constrains.push_back(name_of(t) +
                             " >=" + versions[t][rng.below((versions[t].size() + 1) / 2)].text());
      }
      // Builds: one per series of the core dependency when pinned (the
      // py311/py312 shape), else 1..max_builds rebuilds.
      std::vector<std::string> core_deps;
      if (core_target) {
        const std::vector<Version>& cv = versions[*core_target];
        if (rng.chance(shape.pin_rate)) {
          std::set<std::string> series;
          for (std::size_t b = cv.size(); b > 0 && series.size() < shape.max_builds; --b)
            series.insert(cv[b - 1].series());
          for (const std::string& s : series)
            core_deps.push_back(name_of(*core_target) + " " + s + ".*");
        } else {
          core_deps.push_back(dependency_on(rng, name_of(*core_target), cv, shape.tight_rate));
        }
      } else {
        core_deps.push_back("");
      }
      std::size_t rebuilds = core_deps.size() > 1 ? 1 : rng.between(1, shape.max_builds);
      bool featured = rng.chance(shape.feature_rate);
      for (std::size_t c = 0; c < core_deps.size(); ++c) {
        for (std::size_t b = 0; b < rebuilds + (featured ? 1 : 0); ++b) {
          PackageRecord r;
          r.name = name;
          r.version = v.text();
          r.build_number = static_cast<int64_t>(b);
          r.build = "h" + hex_hash(rng.next()) + "_" + std::to_string(c) + "_" + std::to_string(b);
          r.depends = depends;
          if (!core_deps[c].empty()) r.depends.push_back(core_deps[c]);
          r.constrains = constrains;
          if (featured && b == rebuilds) r.track_features = {"mkl"};
          r.subdir = noarch[i] ? "noarch" : "linux-64";
          if (noarch[i]) r.noarch = "python";
          r.timestamp = clock;
          clock += 1000;
          r.channel = kMainChannel;
          r.channel_priority = 0;
          fill_file_fields(r);
          out.push_back(std::move(r));
        }
      }
    }
    if (i >= core && rng.chance(shape.second_channel_rate)) {
      // The same package in a lower-priority channel, one version newer.
      Version v = versions[i].back();
      v.patch += 1;
      PackageRecord r;
      r.name = name;
      r.version = v.text();
      r.build = "x" + hex_hash(rng.next()) + "_0";
      if (i > 0) r.depends.push_back(name_of(rng.below(i)));
      r.subdir = "linux-64";
      r.timestamp = clock;
      clock += 1000;
      r.channel = kSecondChannel;
      r.channel_priority = 1;
      fill_file_fields(r);
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<std::string> generate_request(const std::vector<PackageRecord>& records,
                                          std::size_t count, uint64_t seed) {
  Rng rng(seed ^ 0xabcdefULL);
  std::map<std::string, std::vector<std::string>> versions;
  for (const PackageRecord& r : records)
    if (r.channel_priority == 0) versions[r.name].push_back(r.version);
  std::vector<std::string> names;
  for (const auto& [name, _] : versions) names.push_back(name);
  std::vector<std::string> out;
  std::set<std::string> used;
  std::size_t lo = names.size() / 2;
  for (std::size_t tries = 0; out.size() < count && tries < 20 * count + 100; ++tries) {
    const std::string& name = names[lo + rng.below(names.size() - lo)];
    if (!used.insert(name).second) continue;
    const std::vector<std::string>& vs = versions[name];
    double r = rng.unit();
    if (r < 0.85 || vs.size() < 2)
      out.push_back(name);
    else if (r < 0.97)
      out.push_back(name + " >=" + vs[rng.below(vs.size())]);
    else
      out.push_back(name + "=" + vs[rng.below(vs.size())]);
  }
  return out;
}

SmallInstance generate_small_instance(uint64_t seed, std::size_t max_records) {
  Rng rng(seed);
  SmallInstance out;
  const std::vector<std::string> all_names = {"a", "b", "c", "d", "e"};
  std::size_t name_count = rng.between(2, 5);
  std::vector<std::string> names(all_names.begin(),
                                 all_names.begin() + static_cast<std::ptrdiff_t>(name_count));
  const std::vector<std::string> versions = {"1.0", "2.0", "3.0"};
  auto random_spec = [&](const std::string& name) {
    switch (rng.below(6)) {
      case 0:
        return name + " >=2";
      case 1:
        return name + " <2";
      case 2:
        return name + " " + versions[rng.below(3)];
      case 3:
        return name + " >=2,<3";
      default:
        return name;
    }
  };
  for (const std::string& name : names) {
    std::size_t vcount = rng.between(1, 3);
    for (std::size_t v = 0; v < vcount; ++v) {
      std::size_t builds = rng.chance(0.3) ? 2 : 1;
      for (std::size_t b = 0; b < builds; ++b) {
        if (out.records.size() >= max_records) break;
        std::vector<std::string> depends;
        std::size_t deps = rng.below(3);
        for (std::size_t d = 0; d < deps; ++d) {
          double r = rng.unit();
          if (r < 0.08)
            depends.push_back("zz");
          else if (r < 0.16)
            depends.push_back(rng.chance(0.5) ? "__glibc >=2.17" : "__glibc >=2.34");
          else
            depends.push_back(random_spec(names[rng.below(names.size())]));
        }
        PackageRecord r = make_record(name, versions[v], depends, static_cast<int64_t>(b));
        if (rng.chance(0.15)) r.constrains.push_back(random_spec(names[rng.below(names.size())]));
        if (rng.chance(0.1)) r.track_features = {"feat"};
        if (rng.chance(0.1)) {
          r.subdir = "noarch";
          r.noarch = "generic";
          fill_file_fields(r);
        }
        out.records.push_back(std::move(r));
      }
    }
  }
  std::size_t spec_count = rng.between(1, 3);
  std::set<std::string> used;
  for (std::size_t i = 0; i < spec_count; ++i) {
    const std::string& name = names[rng.below(names.size())];
    if (!used.insert(name).second) continue;
    out.specs.push_back(rng.chance(0.6) ? name : random_spec(name));
  }
  if (rng.chance(0.8)) out.virtual_packages = linux_virtual_packages("2.31");
  return out;
}

std::string check_installation(const std::vector<PackageRecord>& all_records,
                               const std::vector<std::string>& specs,
                               const std::vector<PackageRecord>& virtual_packages,
                               const std::vector<PackageRecord>& installed, bool strict) {
  std::vector<const PackageRecord*> list;
  for (const PackageRecord& r : installed) list.push_back(&r);
  return Checker(all_records, specs, virtual_packages, strict).check(list);
}

std::size_t for_each_valid_installation(
    const std::vector<PackageRecord>& records, const std::vector<std::string>& specs,
    const std::vector<PackageRecord>& virtual_packages,
    const std::function<bool(const std::vector<PackageRecord>&)>& on_valid, bool strict) {
  if (records.size() > 20) throw Error(ErrorKind::Internal, "too many records to enumerate");
  Checker checker(records, specs, virtual_packages, strict);
  std::size_t valid = 0;
  std::vector<const PackageRecord*> subset;
  for (uint64_t mask = 0; mask < (uint64_t{1} << records.size()); ++mask) {
    subset.clear();
    for (std::size_t i = 0; i < records.size(); ++i)
      if (mask & (uint64_t{1} << i)) subset.push_back(&records[i]);
    if (!checker.check(subset).empty()) continue;
    ++valid;
    std::vector<PackageRecord> copy;
    for (const PackageRecord* r : subset) copy.push_back(*r);
    if (!on_valid(copy)) break;
  }
  return valid;
}

}  // namespace envbuild::testing
