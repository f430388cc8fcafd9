#include <gtest/gtest.h>
TEST(CliTest, Placeholder) { EXPECT_TRUE(true); }
