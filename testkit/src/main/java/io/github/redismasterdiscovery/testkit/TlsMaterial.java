package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority and one server certificate for a TLS topology, generated at run
 * time (valid one day), as PEM files for {@code redis-server} and an {@link SSLSocketFactory} for
 * clients that trusts the authority.
 */
public final class TlsMaterial {

  private final Path caCert;
  private final Path cert;
  private final Path key;
  private final SSLSocketFactory socketFactory;

  private TlsMaterial(Path caCert, Path cert, Path key, SSLSocketFactory socketFactory) {
    this.caCert = caCert;
    this.cert = cert;
    this.key = key;
    this.socketFactory = socketFactory;
  }

  /** Generates a CA and a server certificate (for localhost and 127.0.0.1) under {@code dir}. */
  public static TlsMaterial generate(Path dir) {
    try {
      Files.createDirectories(dir);
      KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
      rsa.initialize(2048);
      Date from = Date.from(Instant.now().minus(Duration.ofHours(1)));
      Date to = Date.from(Instant.now().plus(Duration.ofDays(1)));
      KeyPair caKeys = rsa.generateKeyPair();
      X500Name caName = new X500Name("CN=rmd-testkit CA");
      ContentSigner caSigner = new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate());
      JcaX509v3CertificateBuilder caBuilder = new JcaX509v3CertificateBuilder(caName, BigInteger.ONE, from, to, caName, caKeys.getPublic());
      caBuilder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      X509Certificate ca = new JcaX509CertificateConverter().getCertificate(caBuilder.build(caSigner));

      KeyPair serverKeys = rsa.generateKeyPair();
      JcaX509v3CertificateBuilder serverBuilder = new JcaX509v3CertificateBuilder(ca, BigInteger.TWO, from, to, new X500Name("CN=localhost"),
          serverKeys.getPublic());
      serverBuilder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
          new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
      X509Certificate server = new JcaX509CertificateConverter().getCertificate(serverBuilder.build(caSigner));

      Path caFile = pem(dir.resolve("ca.crt"), List.of(ca));
      Path certFile = pem(dir.resolve("redis.crt"), List.of(server));
      Path keyFile = pem(dir.resolve("redis.key"), List.of(serverKeys.getPrivate()));

      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", ca);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return new TlsMaterial(caFile, certFile, keyFile, context.getSocketFactory());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write TLS material under " + dir, e);
    } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new IllegalStateException("cannot generate TLS material", e);
    }
  }

  private static Path pem(Path file, List<Object> objects) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII); JcaPEMWriter pem = new JcaPEMWriter(w)) {
      for (Object o : objects) {
        pem.writeObject(o);
      }
    }
    return file;
  }

  /** A socket factory that trusts the generated authority. */
  public SSLSocketFactory socketFactory() {
    return socketFactory;
  }

  /** The {@code redis.conf} / {@code sentinel.conf} lines that enable TLS with this material (the port is set per process). */
  List<String> serverConfig() {
    return List.of("tls-cert-file " + cert, "tls-key-file " + key, "tls-ca-cert-file " + caCert, "tls-auth-clients no", "tls-replication yes");
  }
}
