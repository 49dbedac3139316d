"""CI platforms behind one interface, test reports parsed, test history and flaky tests.

GitHub Actions, GitLab CI and CircleCI are reached through one provider protocol; test
output (pytest, Jest, cargo/nextest, go test, JUnit XML) is parsed into per-test results
(``models.TestResult``); results are kept per repository, test and git tree SHA so that
a test that both passed and failed on the same code is known to be flaky.
"""
