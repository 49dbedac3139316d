"""A real Maven Surefire run, offline on Debian's packaged plugins, with re-runs of
failing tests: its JUnit XML gives one result per attempt."""

from __future__ import annotations

from pathlib import Path

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.integration.ci.tools import DEBIAN_MAVEN_REPO, require_surefire, run, write_tree
from tests.unit.ci.fixtures import by_identity

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>shop</groupId>
  <artifactId>shop</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.source>11</maven.compiler.source>
    <maven.compiler.target>11</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>junit</groupId><artifactId>junit</artifactId><version>4.x</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-resources-plugin</artifactId><version>{resources}</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId><version>{compiler}</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId><version>{surefire}</version>
        <configuration>
          <rerunFailingTestsCount>2</rerunFailingTestsCount>
          <testFailureIgnore>true</testFailureIgnore>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
"""
CART_TEST = """package shop;

import static org.junit.Assert.assertEquals;
import org.junit.Ignore;
import org.junit.Test;

public class CartTest {
    private static int attempts = 0;

    @Test public void totals() { assertEquals(2, 1 + 1); }

    @Test public void discounts() { assertEquals("discount applied", 8, 9); }

    @Test public void recovers() {
        attempts++;
        assertEquals("first try fails", 2, attempts);
    }

    @Test public void crashes() { throw new IllegalStateException("database unreachable"); }

    @Ignore("no payment sandbox") @Test public void pays() {}
}
"""


def test_surefire_reruns_become_numbered_attempts(tmp_path: Path) -> None:
    mvn, versions = require_surefire()
    pom = POM.format(
        resources=versions["maven-resources-plugin"],
        compiler=versions["maven-compiler-plugin"],
        surefire=versions["maven-surefire-plugin"],
    )
    project = write_tree(
        tmp_path / "shop", {"pom.xml": pom, "src/test/java/shop/CartTest.java": CART_TEST}
    )

    output = run(
        [mvn, "-o", "-q", "-B", f"-Dmaven.repo.local={DEBIAN_MAVEN_REPO}", "test"],
        cwd=project,
        timeout=280,
    )

    xml = project / "target" / "surefire-reports" / "TEST-shop.CartTest.xml"
    assert xml.is_file(), output
    report = parse_report(xml.read_bytes())
    assert report.format is ReportFormat.JUNIT
    grouped = by_identity(report.results)
    assert [(a.status, a.retry) for a in grouped["shop.CartTest::discounts"]] == [
        (TestStatus.FAILED, 0),
        (TestStatus.FAILED, 1),
        (TestStatus.FAILED, 2),
    ]
    assert [(a.status, a.retry) for a in grouped["shop.CartTest::recovers"]] == [
        (TestStatus.FAILED, 0),
        (TestStatus.PASSED, 1),
    ]
    assert [a.status for a in grouped["shop.CartTest::crashes"]] == [TestStatus.ERROR] * 3
    assert grouped["shop.CartTest::crashes"][0].message == "database unreachable"
    assert grouped["shop.CartTest::pays"][0].status is TestStatus.SKIPPED
    assert grouped["shop.CartTest::totals"][0].status is TestStatus.PASSED
