package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import io.github.redismasterdiscovery.spring.RedisMasterDiscoveryProperties;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;

/**
 * Every {@code java} snippet in README.md and docs/*.md compiles as written, against the published
 * modules: its import lines go to the top of a file, the rest into a method body (a snippet that
 * declares a class is compiled as it is); every Spring YAML snippet binds to the starter's
 * properties. Users paste these; none may rot.
 */
class ReadmeSnippetsTest {

  /** Compiled snippets go here; JUnit deletes it after the class. */
  @TempDir
  static Path classes;

  private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

  record Snippet(String file, int line, String code) {
    @Override
    public String toString() {
      return file + ":" + line;
    }
  }

  static Stream<Snippet> snippets() throws IOException {
    Path root = Path.of(System.getProperty("rmd.root", "."));
    List<Path> files = new ArrayList<>(List.of(root.resolve("README.md")));
    try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
    }
    List<Snippet> out = new ArrayList<>();
    for (Path f : files) {
      String text = Files.readString(f);
      Matcher m = BLOCK.matcher(text);
      while (m.find()) {
        int line = (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
        out.add(new Snippet(root.relativize(f).toString(), line, m.group(1)));
      }
    }
    assertThat(out).as("java snippets in README.md and docs/").isNotEmpty();
    return out.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("snippets")
  void compiles(Snippet snippet) {
    StringBuilder imports = new StringBuilder();
    StringBuilder body = new StringBuilder();
    for (String line : snippet.code().split("\n", -1)) {
      (line.startsWith("import ") ? imports : body).append(line).append('\n');
    }
    boolean declaresClass = Pattern.compile("^(public |final |abstract )*(class|record|interface) ", Pattern.MULTILINE).matcher(body).find();
    String source = declaresClass ? snippet.code()
        : imports + "\nclass Snippet {\n  @SuppressWarnings(\"unused\")\n  void run() throws Exception {\n" + body + "\n  }\n}\n";
    String name = declaresClass ? className(body.toString()) : "Snippet";

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    StringWriter output = new StringWriter();
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, null)) {
      Path out = Files.createTempDirectory(classes, "snippet");
      JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///" + name + ".java"), JavaFileObject.Kind.SOURCE) {
        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
          return source;
        }
      };
      boolean ok = javac.getTask(output, files, diagnostics,
          List.of("-classpath", System.getProperty("java.class.path"), "-d", out.toString(), "-proc:none", "-Xlint:none"), null, List.of(file))
          .call();
      assertThat(ok).as("%s does not compile:%n%s%n%s", snippet, diagnostics.getDiagnostics(), source).isTrue();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Stream<Snippet> springYaml() throws IOException {
    Path root = Path.of(System.getProperty("rmd.root", "."));
    List<Snippet> out = new ArrayList<>();
    List<Path> files = new ArrayList<>(List.of(root.resolve("README.md")));
    try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
    }
    Pattern yaml = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL);
    for (Path f : files) {
      Matcher m = yaml.matcher(Files.readString(f));
      while (m.find()) {
        if (m.group(1).contains("redis-master-discovery:")) {
          out.add(new Snippet(root.relativize(f).toString(), 0, m.group(1)));
        }
      }
    }
    try (Stream<Path> resources = Files.list(root.resolve("examples/src/main/resources"))) {
      resources.filter(p -> p.getFileName().toString().matches("application.*\\.yaml")).sorted()
          .forEach(p -> out.add(new Snippet(root.relativize(p).toString(), 1, read(p))));
    }
    assertThat(out).as("Spring settings in README.md, docs/ and the examples").hasSizeGreaterThanOrEqualTo(2);
    return out.stream();
  }

  /**
   * Every {@code redis-master-discovery.*} key of a YAML snippet binds to the starter's properties:
   * a misspelt or removed property fails here instead of being silently ignored by the user's application.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("springYaml")
  void springSettingsBind(Snippet snippet) throws IOException {
    List<PropertySource<?>> sources = new YamlPropertySourceLoader().load(snippet.toString(), new ByteArrayResource(snippet.code().getBytes()));
    for (PropertySource<?> source : sources) {
      Binder binder = new Binder(ConfigurationPropertySources.from(source));
      binder.bind("redis-master-discovery", Bindable.of(RedisMasterDiscoveryProperties.class),
          new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String className(String body) {
    Matcher m = Pattern.compile("(class|record|interface) (\\w+)").matcher(body);
    return m.find() ? m.group(2) : "Snippet";
  }
}
