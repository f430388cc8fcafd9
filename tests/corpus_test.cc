// placeholder, replaced below
#include <gtest/gtest.h>
TEST(CorpusTest, Placeholder) { EXPECT_TRUE(true); }
