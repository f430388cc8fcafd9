#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace kiln {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::Error(std::to_string(n) + " is odd", "odd");
  return n / 2;
}

Status Check(int n) {
  Result<int> half = Half(n);
  if (!half.ok()) return half.status().Context("halving " + std::to_string(n));
  return Status::Ok();
}

TEST(StatusTest, OkHasNoMessageOrCode) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.code(), "");
  EXPECT_TRUE(Status::Ok().Context("anything").ok());
}

TEST(StatusTest, ContextGoesInFrontAndKeepsTheCode) {
  Status s = Check(3);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "halving 3: 3 is odd");
  EXPECT_EQ(s.code(), "odd");
  Status outer = s.Context("step 2");
  EXPECT_EQ(outer.message(), "step 2: halving 3: 3 is odd");
  EXPECT_EQ(s.message(), "halving 3: 3 is odd");  // the const& overload copies
}

TEST(ResultTest, CarriesAValueOrAStatus) {
  Result<int> four = Half(8);
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(*four, 4);
  EXPECT_TRUE(four.status().ok());
  Result<int> odd = Half(5);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.message(), "5 is odd");
  EXPECT_EQ(odd.status().code(), "odd");
  EXPECT_TRUE(Check(6).ok());
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 7);
  std::unique_ptr<int> taken = *std::move(r);
  EXPECT_EQ(*taken, 7);
}

TEST(ResultDeathTest, ValueOfAFailureIsABug) {
  Result<int> odd = Half(1);
  EXPECT_DEATH((void)odd.value(), "value\\(\\) of a failed Result");
  EXPECT_DEATH((void)Status::Error(""), "a failed Status says why");
}

}  // namespace
}  // namespace kiln
