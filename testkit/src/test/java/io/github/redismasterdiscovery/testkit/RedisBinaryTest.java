package io.github.redismasterdiscovery.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class RedisBinaryTest {

  @Test
  void locatesAnExecutableThatReportsAVersion() {
    assertThat(Files.isExecutable(RedisBinary.locate())).isTrue();
    assertThat(RedisBinary.version()).matches("\\d+\\.\\d+\\.\\d+");
  }
}
