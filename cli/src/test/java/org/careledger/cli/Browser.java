package org.careledger.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven by Debian's chromedriver, kept off the network: every host
 * name but 127.0.0.1 fails to resolve and background services are off. Never a downloaded
 * browser. Screenshots go to {@code target/screenshots/<test>/}.
 */
final class Browser implements AutoCloseable {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  final ChromeDriver driver;
  private final Path shots;
  private int shot;

  Browser(Path profile, int width, int height, String testName) throws IOException {
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
      throw new IllegalStateException("browser tests need Debian's chromium and chromium-driver"
          + " (apt-get install chromium chromium-driver; .ci/run installs them)");
    }
    ChromeOptions o = new ChromeOptions();
    o.setBinary(CHROMIUM.toFile());
    o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
        "--window-size=" + width + "," + height,
        // nothing resolves but the loopback addresses the test nodes listen on
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE 127.0.0.2"
            + " , EXCLUDE 127.0.0.3");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    driver = new ChromeDriver(service, o);
    driver.manage().window().setSize(new Dimension(width, height));
    shots = Path.of("target", "screenshots", testName);
    Files.createDirectories(shots);
  }

  WebDriverWait waiting(int seconds) {
    WebDriverWait w = new WebDriverWait(driver, Duration.ofSeconds(seconds));
    w.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
    return w;
  }

  WebElement waitFor(String css) {
    return waiting(30).until(d -> {
      List<WebElement> found = d.findElements(By.cssSelector(css));
      return found.isEmpty() || !found.get(0).isDisplayed() ? null : found.get(0);
    });
  }

  void waitForText(String css, String text) {
    waiting(30).until(d -> d.findElements(By.cssSelector(css)).stream()
        .anyMatch(e -> e.getText().contains(text)));
  }

  void type(String css, String text) {
    WebElement e = waitFor(css);
    e.clear();
    e.sendKeys(text);
  }

  /** Clicks like a person: the element scrolled to the middle of the screen first. */
  void click(String css) {
    WebElement e = waitFor(css);
    ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
        "arguments[0].scrollIntoView({block: 'center'});", e);
    e.click();
  }

  String text(String css) {
    return waiting(30).until(d -> {
      List<WebElement> found = d.findElements(By.cssSelector(css));
      return found.isEmpty() ? null : found.get(0).getText();
    });
  }

  /** Saves a PNG named after the step; returns its path. */
  Path screenshot(String step) throws IOException {
    byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
    Path p = shots.resolve(String.format("%02d-%s.png", ++shot, step));
    Files.write(p, png);
    return p;
  }

  WebDriver raw() {
    return driver;
  }

  @Override
  public void close() {
    driver.quit();
  }
}
