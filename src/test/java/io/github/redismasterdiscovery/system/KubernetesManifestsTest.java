package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * examples/k8s is read by users, not by a cluster (none runs here): parse every manifest as the
 * Kubernetes model and check that the pieces name each other (the Deployment's service account
 * has the Role, the Secret and profile it uses exist, the chart values give what the application's
 * settings expect), so a rename in one place fails here.
 */
class KubernetesManifestsTest {

  private static final Path K8S = Path.of(System.getProperty("rmd.root", "."), "examples/k8s");
  private static final Path RESOURCES = Path.of(System.getProperty("rmd.root", "."), "examples/src/main/resources");

  private static List<HasMetadata> manifests(String file) throws IOException {
    Object parsed = new KubernetesSerialization().unmarshal(Files.readString(K8S.resolve(file)));
    @SuppressWarnings("unchecked")
    List<HasMetadata> list = parsed instanceof List ? (List<HasMetadata>) parsed : List.of((HasMetadata) parsed);
    return list;
  }

  private static <T> T only(List<HasMetadata> items, Class<T> type) {
    List<T> found = items.stream().filter(type::isInstance).map(type::cast).toList();
    assertThat(found).as(type.getSimpleName()).hasSize(1);
    return found.get(0);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(Path file) throws IOException {
    return new Yaml().load(Files.readString(file));
  }

  @SuppressWarnings("unchecked")
  private static Object at(Map<String, Object> map, String path) {
    Object o = map;
    for (String key : path.split("\\.")) {
      o = o instanceof Map ? ((Map<String, Object>) o).get(key) : null;
    }
    return o;
  }

  @Test
  void theApplicationsServiceAccountMayReadPodsAndTheDeploymentUsesIt() throws IOException {
    List<HasMetadata> rbac = manifests("rbac.yaml");
    ServiceAccount account = only(rbac, ServiceAccount.class);
    Role role = only(rbac, Role.class);
    RoleBinding binding = only(rbac, RoleBinding.class);
    assertThat(role.getRules()).anySatisfy(rule -> {
      assertThat(rule.getResources()).contains("pods");
      assertThat(rule.getVerbs()).contains("list", "watch");
    });
    assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
    assertThat(binding.getSubjects()).anySatisfy(s -> assertThat(s.getName()).isEqualTo(account.getMetadata().getName()));

    Deployment counter = only(manifests("counter.yaml"), Deployment.class);
    assertThat(counter.getMetadata().getNamespace()).isEqualTo(role.getMetadata().getNamespace());
    assertThat(counter.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo(account.getMetadata().getName());
    var env = counter.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
    String profile = env.stream().filter(e -> e.getName().equals("SPRING_PROFILES_ACTIVE")).findFirst().orElseThrow().getValue();
    assertThat(RESOURCES.resolve("application-" + profile + ".yaml")).as("the profile's settings").exists();
    assertThat(env).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("REDIS_PASSWORD");
      assertThat(e.getValueFrom().getSecretKeyRef().getName()).as("Bitnami's Secret is named after the release").isEqualTo("redis");
    });
  }

  @Test
  void theChartValuesGiveWhatTheApplicationsSettingsExpect() throws IOException {
    Map<String, Object> values = yaml(K8S.resolve("bitnami-values.yaml"));
    Map<String, Object> app = yaml(RESOURCES.resolve("application-kubernetes.yaml"));
    assertThat(at(values, "sentinel.enabled")).isEqualTo(true);
    assertThat(at(values, "sentinel.masterService.enabled")).as("the isMaster label and the redis-master Service").isEqualTo(true);
    assertThat(at(values, "sentinel.masterSet")).isEqualTo(at(app, "redis-master-discovery.sentinel.master-name"));
    assertThat(at(app, "redis-master-discovery.kubernetes.preset")).isEqualTo("bitnami");
    assertThat((String) at(app, "redis-master-discovery.sentinel.nodes")).contains("redis-node-0.redis-headless:26379");
    assertThat(at(app, "redis-master-discovery.dns.host")).isEqualTo("redis-master");

    Map<String, Object> external = yaml(K8S.resolve("bitnami-external-access-values.yaml"));
    assertThat(at(external, "sentinel.externalAccess.enabled")).isEqualTo(true);
    assertThat(at(external, "sentinel.externalAccess.service.type")).isEqualTo("LoadBalancer");
    assertThat(Files.readString(K8S.resolve("rbac.yaml"))).as("the services rule external access needs, ready to uncomment")
        .contains("resources: [\"services\"]");
  }
}
