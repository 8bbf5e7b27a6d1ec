#pragma once
// Variables and literals of the solver's SAT problem. A variable is one
// candidate record (or one virtual package); a literal is a variable or its
// negation, packed in one integer so watch lists can be indexed by it.
#include <cstdint>
#include <limits>

namespace envbuild::builder::conda::solver {

using Var = uint32_t;
inline constexpr Var kNoVar = std::numeric_limits<Var>::max();

class Lit {
 public:
  constexpr Lit() = default;  // the positive literal of variable 0, for containers
  static constexpr Lit positive(Var v) { return Lit(v << 1); }
  static constexpr Lit negative(Var v) { return Lit((v << 1) | 1U); }

  constexpr Var var() const { return code_ >> 1; }
  constexpr bool is_negative() const { return (code_ & 1U) != 0; }
  constexpr Lit operator~() const { return Lit(code_ ^ 1U); }
  // Dense index for per-literal tables (watch lists).
  constexpr uint32_t code() const { return code_; }
  constexpr bool operator==(const Lit&) const = default;

 private:
  explicit constexpr Lit(uint32_t code) : code_(code) {}
  uint32_t code_ = 0;
};

// A variable's current value; literals map onto it through their sign.
enum class Value : int8_t { False = -1, Unset = 0, True = 1 };

}  // namespace envbuild::builder::conda::solver
