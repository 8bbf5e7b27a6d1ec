#pragma once
// Where a solver finds candidate packages, loaded lazily by name: a solver
// asks only for the names it reaches from the request, so a channel with
// hundreds of thousands of records is mostly never parsed.
#include <string>
#include <vector>

#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

class PackageSource {
 public:
  virtual ~PackageSource() = default;
  // Every record named `name` in every channel and subdir the environment
  // uses, in no particular order; empty when there is none. The reference
  // stays valid for the source's lifetime. Called from one thread.
  virtual const std::vector<PackageRecord>& candidates(const std::string& name) = 0;
};

// A fixed set of records, for tests and for locks read back from a file.
class VectorPackageSource : public PackageSource {
 public:
  explicit VectorPackageSource(std::vector<PackageRecord> records);
  const std::vector<PackageRecord>& candidates(const std::string& name) override;

 private:
  std::vector<PackageRecord> all_;
  std::vector<std::pair<std::string, std::vector<PackageRecord>>> by_name_;  // sorted by name
  std::vector<PackageRecord> none_;
};

}  // namespace envbuild::builder::conda
