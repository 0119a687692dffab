package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterDiscoveryBuilder;

/**
 * Adjusts the {@link MasterDiscoveryBuilder} the auto-configuration prepared from properties
 * before the discovery is built: for settings with no property, or computed ones. Beans of this
 * type are applied in {@code @Order}.
 */
@FunctionalInterface
public interface MasterDiscoveryBuilderCustomizer {

  void customize(MasterDiscoveryBuilder builder);
}
