<?xml version="1.0" encoding="UTF-8"?>
<!--
  medgate-cda.xsl: medgate's own XSLT 1.0 stylesheet for HL7 CDA R2 documents.

  It renders the same view as medgate's built-in HTML renderer (crate medgate-cda,
  render_html): a header block (patient, document, authors, custodian, legal authenticator,
  service events) and every section, nested sections too, with its narrative block.

  Sanitising rules, the same as the built-in renderer's:
  - only whitelisted HTML elements are written; unknown elements, elements in other
    namespaces, comments and processing instructions in the narrative are dropped with
    their content;
  - no attribute is copied from the input: IDs are kept only when they are plain tokens,
    colspan/rowspan only when they are numbers from 1 to 1000, styleCode becomes known CSS
    classes;
  - links keep only http:, https:, mailto: and #fragment targets;
  - images only as data: URIs of base64 PNG, JPEG or GIF from inside the document.
  The CSS inside <style> is the built-in renderer's CSS, word for word (a test checks it).
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:n1="urn:hl7-org:v3"
    exclude-result-prefixes="n1">

  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:key name="media" match="n1:observationMedia[@ID]" use="normalize-space(@ID)"/>
  <xsl:key name="footnote" match="n1:footnote[@ID]" use="normalize-space(@ID)"/>

  <xsl:variable name="pesel-oid" select="'2.16.840.1.113883.3.4424.1.1.616'"/>
  <xsl:variable name="p1-class-oid" select="'2.16.840.1.113883.3.4424.11.1.32'"/>
  <xsl:variable name="upper-case" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower-case" select="'abcdefghijklmnopqrstuvwxyz'"/>
  <xsl:variable name="id-first-characters"
      select="'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_'"/>
  <xsl:variable name="id-characters"
      select="'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:'"/>
  <xsl:variable name="base64-characters"
      select="'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='"/>
  <xsl:variable name="language-characters"
      select="'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-'"/>
  <xsl:variable name="whitespace" select="' &#9;&#10;&#13;'"/>

  <!-- ============================================================ page -->

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="n1:ClinicalDocument">
        <xsl:apply-templates select="n1:ClinicalDocument"/>
      </xsl:when>
      <xsl:otherwise>
        <html>
          <head><meta charset="utf-8"/><title>Not a CDA document</title></head>
          <body><p>This file is not an HL7 CDA R2 document (root element ClinicalDocument in namespace urn:hl7-org:v3).</p></body>
        </html>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="n1:ClinicalDocument">
    <xsl:variable name="title">
      <xsl:call-template name="document-title"/>
    </xsl:variable>
    <xsl:variable name="language" select="normalize-space(n1:languageCode/@code)"/>
    <html>
      <xsl:if test="$language != '' and string-length($language) &lt;= 35 and translate($language, $language-characters, '') = ''">
        <xsl:attribute name="lang"><xsl:value-of select="$language"/></xsl:attribute>
      </xsl:if>
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="referrer" content="no-referrer"/>
        <title><xsl:value-of select="$title"/></title>
        <style>
body { margin: 0; padding: 1.5rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328; background: #fff; }
.cda-document { max-width: 60rem; margin: 0 auto; }
.cda-header { border-bottom: 2px solid #24568a; margin-bottom: 1.5rem; padding-bottom: 0.75rem; }
.cda-title { font-size: 1.6rem; margin: 0 0 0.75rem 0; color: #24568a; }
.cda-header-table { border-collapse: collapse; width: 100%; }
.cda-header-table th { text-align: left; vertical-align: top; width: 11rem; padding: 0.2rem 0.75rem 0.2rem 0; color: #57606a; font-weight: 600; }
.cda-header-table td { padding: 0.2rem 0; vertical-align: top; }
.cda-patient-name { font-size: 1.1rem; }
.cda-ids { display: inline; list-style: none; margin: 0; padding: 0; }
.cda-ids li { display: inline; margin-left: 0.75rem; }
.cda-oid { color: #6e7781; font-size: 0.85em; }
.cda-muted { color: #6e7781; }
.cda-entries { list-style: none; margin: 0; padding: 0; }
.cda-entries li { margin: 0 0 0.2rem 0; }
.cda-section { margin: 0 0 1.25rem 0; }
.cda-section .cda-section { margin-left: 1rem; }
.cda-section-title { color: #24568a; margin: 1rem 0 0.5rem 0; }
h2.cda-section-title { font-size: 1.25rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem; }
h3.cda-section-title { font-size: 1.1rem; }
h4.cda-section-title, h5.cda-section-title, h6.cda-section-title { font-size: 1rem; }
.cda-narrative p { margin: 0 0 0.5rem 0; }
.cda-caption { font-weight: 600; margin-right: 0.3rem; }
p.cda-caption { margin: 0.5rem 0 0.2rem 0; }
.cda-table { border-collapse: collapse; margin: 0.5rem 0 0.75rem 0; }
.cda-table caption { text-align: left; font-weight: 600; padding: 0.2rem 0; }
.cda-table th, .cda-table td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
.cda-table thead th { background: #f3f6f9; }
.cda-bold { font-weight: bold; }
.cda-italics { font-style: italic; }
.cda-underline { text-decoration: underline; }
.cda-emphasis { font-style: italic; font-weight: 600; }
.cda-lrule { border-left: 1px solid #1f2328; }
.cda-rrule { border-right: 1px solid #1f2328; }
.cda-toprule { border-top: 1px solid #1f2328; }
.cda-botrule { border-bottom: 1px solid #1f2328; }
.cda-align-left { text-align: left; }
.cda-align-center { text-align: center; }
.cda-align-right { text-align: right; }
.cda-align-justify { text-align: justify; }
ol.cda-list-arabic { list-style-type: decimal; }
ol.cda-list-littleroman { list-style-type: lower-roman; }
ol.cda-list-bigroman { list-style-type: upper-roman; }
ol.cda-list-littlealpha { list-style-type: lower-alpha; }
ol.cda-list-bigalpha { list-style-type: upper-alpha; }
ul.cda-list-disc { list-style-type: disc; }
ul.cda-list-circle { list-style-type: circle; }
ul.cda-list-square { list-style-type: square; }
.cda-media { display: block; margin: 0.5rem 0; }
.cda-media img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
.cda-media-caption { display: block; color: #57606a; font-size: 0.9em; }
.cda-media-missing { color: #6e7781; font-style: italic; }
.cda-footnote-ref { font-size: 0.75em; }
.cda-footnotes { font-size: 0.9em; color: #57606a; border-top: 1px solid #d0d7de; margin: 0.5rem 0 0 0; padding: 0.3rem 0 0 1.5rem; }
.cda-non-xml-body { white-space: pre-wrap; font-family: ui-monospace, monospace; background: #f6f8fa; padding: 0.75rem; }
.cda-footer { margin-top: 2rem; color: #6e7781; font-size: 0.85em; border-top: 1px solid #d0d7de; padding-top: 0.5rem; }
@media print { body { padding: 0; } .cda-footer { display: none; } }
</style>
      </head>
      <body>
        <article class="cda-document">
          <xsl:call-template name="header-block">
            <xsl:with-param name="title" select="$title"/>
          </xsl:call-template>
          <main class="cda-body">
            <xsl:call-template name="document-body"/>
          </main>
          <footer class="cda-footer">Rendered by medgate from the original CDA document, which remains the authoritative record.</footer>
        </article>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="document-title">
    <xsl:choose>
      <xsl:when test="normalize-space(n1:title) != ''">
        <xsl:value-of select="normalize-space(n1:title)"/>
      </xsl:when>
      <xsl:when test="normalize-space(n1:code/@displayName) != ''">
        <xsl:value-of select="normalize-space(n1:code/@displayName)"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="concat('Clinical document ', normalize-space(n1:code/@code))"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- ============================================================ header block -->

  <xsl:template name="header-block">
    <xsl:param name="title"/>
    <xsl:variable name="role" select="n1:recordTarget[1]/n1:patientRole"/>
    <header class="cda-header">
      <h1 class="cda-title"><xsl:value-of select="$title"/></h1>
      <table class="cda-header-table">
        <tbody>
          <tr>
            <th scope="row">Patient</th>
            <td>
              <xsl:apply-templates select="$role" mode="patient"/>
            </td>
          </tr>
          <xsl:if test="normalize-space($role/n1:patient/n1:birthTime/@value) != ''">
            <tr>
              <th scope="row">Date of birth</th>
              <td>
                <xsl:call-template name="format-timestamp">
                  <xsl:with-param name="value" select="$role/n1:patient/n1:birthTime/@value"/>
                </xsl:call-template>
              </td>
            </tr>
          </xsl:if>
          <xsl:variable name="gender" select="normalize-space($role/n1:patient/n1:administrativeGenderCode/@code)"/>
          <xsl:if test="$gender != ''">
            <tr>
              <th scope="row">Gender</th>
              <td>
                <xsl:choose>
                  <xsl:when test="$gender = 'F'">female</xsl:when>
                  <xsl:when test="$gender = 'M'">male</xsl:when>
                  <xsl:when test="$gender = 'UN'">undifferentiated</xsl:when>
                  <xsl:otherwise><xsl:value-of select="$gender"/></xsl:otherwise>
                </xsl:choose>
              </td>
            </tr>
          </xsl:if>
          <xsl:for-each select="n1:recordTarget[position() &gt; 1]/n1:patientRole">
            <tr>
              <th scope="row">Also about</th>
              <td><xsl:apply-templates select="." mode="patient"/></td>
            </tr>
          </xsl:for-each>

          <tr>
            <th scope="row">Document type</th>
            <td>
              <xsl:apply-templates select="n1:code" mode="coded"/>
              <xsl:variable name="p1-class" select="n1:code/n1:translation[normalize-space(@code) != ''][normalize-space(@codeSystem) = $p1-class-oid or normalize-space(@codeSystemName) = 'KLAS_DOK_P1'][1]"/>
              <xsl:if test="$p1-class">
                <xsl:text>; P1 class </xsl:text>
                <xsl:apply-templates select="$p1-class" mode="coded"/>
              </xsl:if>
            </td>
          </tr>
          <tr>
            <th scope="row">Document date</th>
            <td>
              <xsl:call-template name="format-timestamp">
                <xsl:with-param name="value" select="n1:effectiveTime/@value"/>
              </xsl:call-template>
            </td>
          </tr>
          <tr>
            <th scope="row">Document id</th>
            <td>
              <xsl:apply-templates select="n1:id[1]" mode="instance-id"/>
              <xsl:variable name="version" select="normalize-space(n1:versionNumber/@value)"/>
              <xsl:choose>
                <xsl:when test="normalize-space(n1:setId/@root) != ''">
                  <span class="cda-muted">
                    <xsl:text> (set </xsl:text>
                    <xsl:apply-templates select="n1:setId" mode="instance-id"/>
                    <xsl:if test="$version != ''">
                      <xsl:value-of select="concat(', version ', $version)"/>
                    </xsl:if>
                    <xsl:text>)</xsl:text>
                  </span>
                </xsl:when>
                <xsl:when test="$version != ''">
                  <span class="cda-muted"><xsl:value-of select="concat(' (version ', $version, ')')"/></span>
                </xsl:when>
              </xsl:choose>
            </td>
          </tr>

          <xsl:if test="n1:author">
            <tr>
              <th scope="row">
                <xsl:choose>
                  <xsl:when test="count(n1:author) = 1">Author</xsl:when>
                  <xsl:otherwise>Authors</xsl:otherwise>
                </xsl:choose>
              </th>
              <td>
                <ul class="cda-entries">
                  <xsl:for-each select="n1:author">
                    <li><xsl:apply-templates select="." mode="author"/></li>
                  </xsl:for-each>
                </ul>
              </td>
            </tr>
          </xsl:if>
          <xsl:variable name="custodian" select="n1:custodian/n1:assignedCustodian/n1:representedCustodianOrganization"/>
          <xsl:if test="$custodian">
            <tr>
              <th scope="row">Custodian</th>
              <td><xsl:apply-templates select="$custodian" mode="organization"/></td>
            </tr>
          </xsl:if>
          <xsl:for-each select="n1:legalAuthenticator[1]">
            <tr>
              <th scope="row">Legal authenticator</th>
              <td>
                <xsl:call-template name="person">
                  <xsl:with-param name="name" select="n1:assignedEntity/n1:assignedPerson/n1:name[1]"/>
                  <xsl:with-param name="ids" select="n1:assignedEntity/n1:id[normalize-space(@root) != '']"/>
                </xsl:call-template>
                <xsl:if test="normalize-space(n1:time/@value) != ''">
                  <xsl:text>, </xsl:text>
                  <xsl:call-template name="format-timestamp">
                    <xsl:with-param name="value" select="n1:time/@value"/>
                  </xsl:call-template>
                </xsl:if>
                <xsl:if test="n1:assignedEntity/n1:representedOrganization">
                  <xsl:text>; </xsl:text>
                  <xsl:apply-templates select="n1:assignedEntity/n1:representedOrganization[1]" mode="organization"/>
                </xsl:if>
              </td>
            </tr>
          </xsl:for-each>
          <xsl:for-each select="n1:documentationOf/n1:serviceEvent">
            <tr>
              <th scope="row">Service event</th>
              <td><xsl:apply-templates select="." mode="service-event"/></td>
            </tr>
          </xsl:for-each>
          <xsl:if test="normalize-space(n1:confidentialityCode/@code) != ''">
            <tr>
              <th scope="row">Confidentiality</th>
              <td><xsl:apply-templates select="n1:confidentialityCode" mode="coded"/></td>
            </tr>
          </xsl:if>
          <xsl:if test="normalize-space(n1:languageCode/@code) != ''">
            <tr>
              <th scope="row">Language</th>
              <td><xsl:value-of select="normalize-space(n1:languageCode/@code)"/></td>
            </tr>
          </xsl:if>
        </tbody>
      </table>
    </header>
  </xsl:template>

  <xsl:template match="n1:patientRole" mode="patient">
    <xsl:variable name="name" select="n1:patient/n1:name[1]"/>
    <xsl:if test="normalize-space($name) != ''">
      <strong class="cda-patient-name">
        <xsl:apply-templates select="$name" mode="person-name"/>
      </strong>
    </xsl:if>
    <xsl:if test="n1:id[normalize-space(@root) != '']">
      <ul class="cda-ids">
        <xsl:for-each select="n1:id[normalize-space(@root) != '']">
          <li><xsl:apply-templates select="." mode="identifier"/></li>
        </xsl:for-each>
      </ul>
    </xsl:if>
  </xsl:template>

  <!-- A person name in reading order: prefixes, given names, family names, suffixes; the
       text of the name when it has no parts. -->
  <xsl:template match="*" mode="person-name">
    <xsl:variable name="parts">
      <xsl:for-each select="n1:prefix"><xsl:value-of select="concat(' ', normalize-space(.))"/></xsl:for-each>
      <xsl:for-each select="n1:given"><xsl:value-of select="concat(' ', normalize-space(.))"/></xsl:for-each>
      <xsl:for-each select="n1:family"><xsl:value-of select="concat(' ', normalize-space(.))"/></xsl:for-each>
      <xsl:for-each select="n1:suffix"><xsl:value-of select="concat(' ', normalize-space(.))"/></xsl:for-each>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="normalize-space($parts) != ''"><xsl:value-of select="normalize-space($parts)"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="normalize-space(.)"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "Display name (SYSTEM code)", or what of that is known. -->
  <xsl:template match="*" mode="coded">
    <xsl:variable name="system-and-code">
      <xsl:if test="normalize-space(@codeSystemName) != ''">
        <xsl:value-of select="concat(normalize-space(@codeSystemName), ' ')"/>
      </xsl:if>
      <xsl:value-of select="normalize-space(@code)"/>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="normalize-space(@displayName) != ''">
        <xsl:value-of select="concat(normalize-space(@displayName), ' (', $system-and-code, ')')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$system-and-code"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- root^extension -->
  <xsl:template match="*" mode="instance-id">
    <xsl:value-of select="normalize-space(@root)"/>
    <xsl:if test="normalize-space(@extension) != ''">
      <xsl:value-of select="concat('^', normalize-space(@extension))"/>
    </xsl:if>
  </xsl:template>

  <!-- "PESEL 62091599999", or "extension [root]", or the root alone. -->
  <xsl:template match="*" mode="identifier">
    <xsl:variable name="root" select="normalize-space(@root)"/>
    <xsl:variable name="extension" select="normalize-space(@extension)"/>
    <xsl:choose>
      <xsl:when test="$extension != '' and $root = $pesel-oid">
        <xsl:value-of select="concat('PESEL ', $extension)"/>
      </xsl:when>
      <xsl:when test="$extension != ''">
        <xsl:value-of select="$extension"/>
        <xsl:text> </xsl:text>
        <span class="cda-oid"><xsl:value-of select="concat('[', $root, ']')"/></span>
      </xsl:when>
      <xsl:otherwise>
        <span class="cda-oid"><xsl:value-of select="$root"/></span>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="person">
    <xsl:param name="name"/>
    <xsl:param name="ids"/>
    <xsl:variable name="has-name" select="normalize-space($name) != ''"/>
    <xsl:if test="$has-name">
      <strong><xsl:apply-templates select="$name" mode="person-name"/></strong>
    </xsl:if>
    <xsl:for-each select="$ids">
      <xsl:if test="$has-name or position() &gt; 1"><xsl:text> </xsl:text></xsl:if>
      <xsl:apply-templates select="." mode="identifier"/>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="n1:author" mode="author">
    <xsl:variable name="assigned" select="n1:assignedAuthor"/>
    <xsl:variable name="person-name" select="$assigned/n1:assignedPerson/n1:name[1]"/>
    <xsl:variable name="device">
      <xsl:for-each select="$assigned/n1:assignedAuthoringDevice/n1:manufacturerModelName[1][normalize-space(.) != ''] | $assigned/n1:assignedAuthoringDevice/n1:softwareName[1][normalize-space(.) != '']">
        <xsl:if test="position() &gt; 1">, </xsl:if>
        <xsl:value-of select="normalize-space(.)"/>
      </xsl:for-each>
    </xsl:variable>
    <xsl:variable name="ids" select="$assigned/n1:id[normalize-space(@root) != '']"/>
    <xsl:choose>
      <xsl:when test="normalize-space($person-name) = '' and $device != ''">
        <strong><xsl:value-of select="$device"/></strong>
        <xsl:for-each select="$ids">
          <xsl:text> </xsl:text>
          <xsl:apply-templates select="." mode="identifier"/>
        </xsl:for-each>
      </xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="person">
          <xsl:with-param name="name" select="$person-name"/>
          <xsl:with-param name="ids" select="$ids"/>
        </xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
    <xsl:if test="normalize-space(n1:time/@value) != ''">
      <xsl:text>, </xsl:text>
      <xsl:call-template name="format-timestamp">
        <xsl:with-param name="value" select="n1:time/@value"/>
      </xsl:call-template>
    </xsl:if>
    <xsl:if test="$assigned/n1:representedOrganization">
      <xsl:text>; </xsl:text>
      <xsl:apply-templates select="$assigned/n1:representedOrganization[1]" mode="organization"/>
    </xsl:if>
  </xsl:template>

  <!-- The organisation's name (or its first identifier), then the names of the organisations
       it is part of. -->
  <xsl:template match="*" mode="organization">
    <xsl:choose>
      <xsl:when test="normalize-space(n1:name[1]) != ''">
        <xsl:value-of select="normalize-space(n1:name[1])"/>
      </xsl:when>
      <xsl:when test="n1:id[normalize-space(@root) != '']">
        <xsl:apply-templates select="n1:id[normalize-space(@root) != ''][1]" mode="identifier"/>
      </xsl:when>
    </xsl:choose>
    <xsl:apply-templates select="n1:asOrganizationPartOf[1]/n1:wholeOrganization[1]" mode="parent-organization">
      <xsl:with-param name="depth" select="1"/>
    </xsl:apply-templates>
  </xsl:template>

  <xsl:template match="*" mode="parent-organization">
    <xsl:param name="depth"/>
    <xsl:if test="$depth &lt;= 8">
      <xsl:if test="normalize-space(n1:name[1]) != ''">
        <xsl:value-of select="concat(' — ', normalize-space(n1:name[1]))"/>
      </xsl:if>
      <xsl:apply-templates select="n1:asOrganizationPartOf[1]/n1:wholeOrganization[1]" mode="parent-organization">
        <xsl:with-param name="depth" select="$depth + 1"/>
      </xsl:apply-templates>
    </xsl:if>
  </xsl:template>

  <xsl:template match="n1:serviceEvent" mode="service-event">
    <xsl:variable name="has-code" select="normalize-space(n1:code/@code) != ''"/>
    <xsl:if test="$has-code">
      <xsl:apply-templates select="n1:code" mode="coded"/>
    </xsl:if>
    <xsl:variable name="low">
      <xsl:call-template name="format-timestamp">
        <xsl:with-param name="value" select="n1:effectiveTime/n1:low/@value"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="high">
      <xsl:call-template name="format-timestamp">
        <xsl:with-param name="value" select="n1:effectiveTime/n1:high/@value"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="period">
      <xsl:choose>
        <xsl:when test="normalize-space(n1:effectiveTime/@value) != ''">
          <xsl:call-template name="format-timestamp">
            <xsl:with-param name="value" select="n1:effectiveTime/@value"/>
          </xsl:call-template>
        </xsl:when>
        <xsl:when test="$low != '' and $high != '' and $low = $high"><xsl:value-of select="$low"/></xsl:when>
        <xsl:when test="$low != '' and $high != ''"><xsl:value-of select="concat($low, ' – ', $high)"/></xsl:when>
        <xsl:when test="$low != ''"><xsl:value-of select="concat('from ', $low)"/></xsl:when>
        <xsl:when test="$high != ''"><xsl:value-of select="concat('until ', $high)"/></xsl:when>
      </xsl:choose>
    </xsl:variable>
    <xsl:if test="$period != ''">
      <xsl:if test="$has-code">, </xsl:if>
      <xsl:value-of select="$period"/>
    </xsl:if>
  </xsl:template>

  <!-- An HL7 TS value with its own precision: 2014, 2014-09, 2014-09-06, 2014-09-05 10:12,
       2015-03-01 12:23:00 +01:00. -->
  <xsl:template name="format-timestamp">
    <xsl:param name="value"/>
    <xsl:variable name="text" select="normalize-space($value)"/>
    <xsl:variable name="signs" select="translate($text, '-', '+')"/>
    <xsl:variable name="main" select="substring-before(concat($signs, '+'), '+')"/>
    <xsl:variable name="digits" select="substring-before(concat($main, '.'), '.')"/>
    <xsl:variable name="zone" select="substring-after($signs, '+')"/>
    <xsl:variable name="length" select="string-length($digits)"/>
    <xsl:if test="$length &gt;= 4">
      <xsl:value-of select="substring($digits, 1, 4)"/>
      <xsl:if test="$length &gt;= 6"><xsl:value-of select="concat('-', substring($digits, 5, 2))"/></xsl:if>
      <xsl:if test="$length &gt;= 8"><xsl:value-of select="concat('-', substring($digits, 7, 2))"/></xsl:if>
      <xsl:if test="$length &gt;= 10">
        <xsl:value-of select="concat(' ', substring($digits, 9, 2), ':')"/>
        <xsl:choose>
          <xsl:when test="$length &gt;= 12"><xsl:value-of select="substring($digits, 11, 2)"/></xsl:when>
          <xsl:otherwise>00</xsl:otherwise>
        </xsl:choose>
        <xsl:if test="$length &gt;= 14"><xsl:value-of select="concat(':', substring($digits, 13, 2))"/></xsl:if>
      </xsl:if>
      <xsl:if test="string-length($zone) = 4">
        <xsl:choose>
          <xsl:when test="contains($text, '-')"> -</xsl:when>
          <xsl:otherwise> +</xsl:otherwise>
        </xsl:choose>
        <xsl:value-of select="concat(substring($zone, 1, 2), ':', substring($zone, 3, 2))"/>
      </xsl:if>
    </xsl:if>
  </xsl:template>

  <!-- ============================================================ body -->

  <xsl:template name="document-body">
    <xsl:variable name="component" select="n1:component[1]"/>
    <xsl:choose>
      <xsl:when test="not($component)">
        <p class="cda-muted">This document has no body.</p>
      </xsl:when>
      <xsl:when test="$component/n1:structuredBody">
        <xsl:apply-templates select="$component/n1:structuredBody[1]/n1:component/n1:section[1]" mode="section">
          <xsl:with-param name="depth" select="0"/>
        </xsl:apply-templates>
      </xsl:when>
      <xsl:when test="$component/n1:nonXMLBody">
        <xsl:apply-templates select="$component/n1:nonXMLBody[1]" mode="non-xml-body"/>
      </xsl:when>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="n1:section" mode="section">
    <xsl:param name="depth"/>
    <xsl:if test="$depth &lt;= 24">
      <section class="cda-section">
        <xsl:variable name="title">
          <xsl:choose>
            <xsl:when test="normalize-space(n1:title[1]) != ''"><xsl:value-of select="normalize-space(n1:title[1])"/></xsl:when>
            <xsl:otherwise><xsl:value-of select="normalize-space(n1:code[1]/@displayName)"/></xsl:otherwise>
          </xsl:choose>
        </xsl:variable>
        <xsl:if test="$title != ''">
          <xsl:variable name="level">
            <xsl:choose>
              <xsl:when test="$depth &gt;= 4">6</xsl:when>
              <xsl:otherwise><xsl:value-of select="$depth + 2"/></xsl:otherwise>
            </xsl:choose>
          </xsl:variable>
          <xsl:element name="{concat('h', $level)}">
            <xsl:attribute name="class">cda-section-title</xsl:attribute>
            <xsl:value-of select="$title"/>
          </xsl:element>
        </xsl:if>
        <xsl:for-each select="n1:text[1]">
          <div class="cda-narrative">
            <xsl:apply-templates select="node()" mode="narrative"/>
          </div>
          <xsl:if test=".//n1:footnote">
            <ol class="cda-footnotes">
              <xsl:for-each select=".//n1:footnote">
                <xsl:variable name="number">
                  <xsl:call-template name="footnote-number"/>
                </xsl:variable>
                <li id="cda-footnote-{$number}" value="{$number}">
                  <xsl:apply-templates select="node()" mode="narrative"/>
                </li>
              </xsl:for-each>
            </ol>
          </xsl:if>
        </xsl:for-each>
        <xsl:apply-templates select="n1:component/n1:section[1]" mode="section">
          <xsl:with-param name="depth" select="$depth + 1"/>
        </xsl:apply-templates>
      </section>
    </xsl:if>
  </xsl:template>

  <xsl:template match="n1:nonXMLBody" mode="non-xml-body">
    <xsl:variable name="value" select="n1:text[1]"/>
    <xsl:variable name="media-type">
      <xsl:choose>
        <xsl:when test="normalize-space($value/@mediaType) != ''"><xsl:value-of select="normalize-space($value/@mediaType)"/></xsl:when>
        <xsl:otherwise>text/plain</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="representation">
      <xsl:choose>
        <xsl:when test="normalize-space($value/@representation) != ''"><xsl:value-of select="normalize-space($value/@representation)"/></xsl:when>
        <xsl:otherwise>TXT</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="data-uri">
      <xsl:apply-templates select="$value" mode="image-data-uri"/>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="not($value)">
        <p class="cda-muted">This document's body is empty.</p>
      </xsl:when>
      <xsl:when test="$data-uri != ''">
        <span class="cda-media"><img src="{$data-uri}" alt="document image"/></span>
      </xsl:when>
      <xsl:when test="$media-type = 'text/plain' and $representation = 'TXT'">
        <pre class="cda-non-xml-body"><xsl:value-of select="$value"/></pre>
      </xsl:when>
      <xsl:otherwise>
        <p class="cda-muted">
          <xsl:value-of select="concat('The body of this document is not XML (', $media-type, ') and is not shown here; download the original to open it.')"/>
        </p>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- ============================================================ narrative block -->

  <!-- Anything not listed below (unknown elements, other namespaces) is dropped with its
       content; comments and processing instructions produce nothing. -->
  <xsl:template match="*" mode="narrative"/>
  <xsl:template match="comment() | processing-instruction()" mode="narrative"/>
  <xsl:template match="text()" mode="narrative">
    <xsl:value-of select="."/>
  </xsl:template>

  <xsl:template match="n1:paragraph" mode="narrative">
    <p>
      <xsl:call-template name="id-attribute"/>
      <xsl:call-template name="class-attribute"/>
      <xsl:apply-templates select="node()" mode="narrative"/>
    </p>
  </xsl:template>

  <xsl:template match="n1:content" mode="narrative">
    <xsl:variable name="revised" select="normalize-space(@revised)"/>
    <xsl:variable name="tag">
      <xsl:choose>
        <xsl:when test="$revised = 'insert'">ins</xsl:when>
        <xsl:when test="$revised = 'delete'">del</xsl:when>
        <xsl:otherwise>span</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:element name="{$tag}">
      <xsl:call-template name="id-attribute"/>
      <xsl:call-template name="class-attribute"/>
      <xsl:apply-templates select="node()" mode="narrative"/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="n1:linkHtml" mode="narrative">
    <xsl:variable name="href" select="normalize-space(@href)"/>
    <xsl:variable name="scheme" select="translate(substring($href, 1, 8), $upper-case, $lower-case)"/>
    <xsl:variable name="safe-fragment">
      <xsl:if test="starts-with($href, '#')">
        <xsl:call-template name="is-safe-id">
          <xsl:with-param name="id" select="substring($href, 2)"/>
        </xsl:call-template>
      </xsl:if>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="starts-with($scheme, 'http://') or starts-with($scheme, 'https://') or starts-with($scheme, 'mailto:') or $safe-fragment = 'yes'">
        <a>
          <xsl:call-template name="id-attribute"/>
          <xsl:call-template name="class-attribute"/>
          <xsl:attribute name="href"><xsl:value-of select="$href"/></xsl:attribute>
          <xsl:attribute name="rel">noopener noreferrer</xsl:attribute>
          <xsl:apply-templates select="node()" mode="narrative"/>
        </a>
      </xsl:when>
      <xsl:otherwise>
        <span>
          <xsl:call-template name="id-attribute"/>
          <xsl:call-template name="class-attribute"/>
          <xsl:apply-templates select="node()" mode="narrative"/>
        </span>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="n1:sub" mode="narrative">
    <sub><xsl:apply-templates select="node()" mode="narrative"/></sub>
  </xsl:template>

  <xsl:template match="n1:sup" mode="narrative">
    <sup><xsl:apply-templates select="node()" mode="narrative"/></sup>
  </xsl:template>

  <xsl:template match="n1:br" mode="narrative">
    <br/>
  </xsl:template>

  <xsl:template match="n1:caption" mode="narrative">
    <span class="cda-caption">
      <xsl:call-template name="id-attribute"/>
      <xsl:apply-templates select="node()" mode="narrative"/>
    </span>
  </xsl:template>

  <xsl:template match="n1:footnote" mode="narrative">
    <xsl:call-template name="footnote-marker">
      <xsl:with-param name="number">
        <xsl:call-template name="footnote-number"/>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="n1:footnoteRef" mode="narrative">
    <xsl:for-each select="key('footnote', normalize-space(@IDREF))[1]">
      <xsl:call-template name="footnote-marker">
        <xsl:with-param name="number">
          <xsl:call-template name="footnote-number"/>
        </xsl:with-param>
      </xsl:call-template>
    </xsl:for-each>
  </xsl:template>

  <!-- The number of the current footnote, counted through the whole document. -->
  <xsl:template name="footnote-number">
    <xsl:value-of select="count(preceding::n1:footnote) + count(ancestor::n1:footnote) + 1"/>
  </xsl:template>

  <xsl:template name="footnote-marker">
    <xsl:param name="number"/>
    <sup class="cda-footnote-ref"><a href="#cda-footnote-{$number}"><xsl:value-of select="$number"/></a></sup>
  </xsl:template>

  <xsl:template match="n1:list" mode="narrative">
    <xsl:if test="n1:caption">
      <p class="cda-caption"><xsl:apply-templates select="n1:caption[1]/node()" mode="narrative"/></p>
    </xsl:if>
    <xsl:variable name="tag">
      <xsl:choose>
        <xsl:when test="normalize-space(@listType) = 'ordered'">ol</xsl:when>
        <xsl:otherwise>ul</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:element name="{$tag}">
      <xsl:call-template name="id-attribute"/>
      <xsl:call-template name="class-attribute"/>
      <xsl:for-each select="n1:item">
        <li>
          <xsl:call-template name="id-attribute"/>
          <xsl:call-template name="class-attribute"/>
          <xsl:apply-templates select="node()" mode="narrative"/>
        </li>
      </xsl:for-each>
    </xsl:element>
  </xsl:template>

  <xsl:template match="n1:table" mode="narrative">
    <table>
      <xsl:call-template name="id-attribute"/>
      <xsl:call-template name="class-attribute">
        <xsl:with-param name="extra" select="'cda-table'"/>
      </xsl:call-template>
      <xsl:for-each select="n1:caption | n1:colgroup | n1:col | n1:thead | n1:tbody | n1:tfoot | n1:tr">
        <xsl:choose>
          <xsl:when test="self::n1:caption">
            <caption><xsl:apply-templates select="node()" mode="narrative"/></caption>
          </xsl:when>
          <xsl:when test="self::n1:colgroup">
            <colgroup>
              <xsl:call-template name="span-attribute"><xsl:with-param name="name" select="'span'"/><xsl:with-param name="value" select="@span"/></xsl:call-template>
              <xsl:for-each select="n1:col">
                <col>
                  <xsl:call-template name="span-attribute"><xsl:with-param name="name" select="'span'"/><xsl:with-param name="value" select="@span"/></xsl:call-template>
                </col>
              </xsl:for-each>
            </colgroup>
          </xsl:when>
          <xsl:when test="self::n1:col">
            <col>
              <xsl:call-template name="span-attribute"><xsl:with-param name="name" select="'span'"/><xsl:with-param name="value" select="@span"/></xsl:call-template>
            </col>
          </xsl:when>
          <xsl:when test="self::n1:tr">
            <xsl:apply-templates select="." mode="table-row"/>
          </xsl:when>
          <xsl:otherwise>
            <xsl:element name="{local-name()}">
              <xsl:call-template name="id-attribute"/>
              <xsl:apply-templates select="n1:tr" mode="table-row"/>
            </xsl:element>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="n1:tr" mode="table-row">
    <tr>
      <xsl:call-template name="id-attribute"/>
      <xsl:call-template name="class-attribute"/>
      <xsl:for-each select="n1:th | n1:td">
        <xsl:variable name="align" select="normalize-space(@align)"/>
        <xsl:variable name="align-class">
          <xsl:if test="$align = 'left' or $align = 'center' or $align = 'right' or $align = 'justify'">
            <xsl:value-of select="concat('cda-align-', $align)"/>
          </xsl:if>
        </xsl:variable>
        <xsl:element name="{local-name()}">
          <xsl:call-template name="id-attribute"/>
          <xsl:call-template name="class-attribute">
            <xsl:with-param name="extra" select="$align-class"/>
          </xsl:call-template>
          <xsl:call-template name="span-attribute"><xsl:with-param name="name" select="'colspan'"/><xsl:with-param name="value" select="@colspan"/></xsl:call-template>
          <xsl:call-template name="span-attribute"><xsl:with-param name="name" select="'rowspan'"/><xsl:with-param name="value" select="@rowspan"/></xsl:call-template>
          <xsl:apply-templates select="node()" mode="narrative"/>
        </xsl:element>
      </xsl:for-each>
    </tr>
  </xsl:template>

  <xsl:template match="n1:renderMultiMedia" mode="narrative">
    <xsl:call-template name="render-media-references">
      <xsl:with-param name="references" select="concat(normalize-space(@referencedObject), ' ')"/>
      <xsl:with-param name="caption" select="n1:caption[1]"/>
    </xsl:call-template>
  </xsl:template>

  <!-- renderMultiMedia/@referencedObject is a list of IDs: one image (or note) for each. -->
  <xsl:template name="render-media-references">
    <xsl:param name="references"/>
    <xsl:param name="caption"/>
    <xsl:variable name="reference" select="substring-before($references, ' ')"/>
    <xsl:if test="$reference != ''">
      <xsl:variable name="data-uri">
        <xsl:apply-templates select="key('media', $reference)[1]/n1:value[1]" mode="image-data-uri"/>
      </xsl:variable>
      <xsl:choose>
        <xsl:when test="$data-uri != ''">
          <xsl:variable name="alt">
            <xsl:choose>
              <xsl:when test="normalize-space($caption) != ''"><xsl:value-of select="normalize-space($caption)"/></xsl:when>
              <xsl:otherwise>embedded image</xsl:otherwise>
            </xsl:choose>
          </xsl:variable>
          <span class="cda-media">
            <img src="{$data-uri}" alt="{$alt}"/>
            <xsl:if test="$caption">
              <span class="cda-media-caption"><xsl:apply-templates select="$caption/node()" mode="narrative"/></span>
            </xsl:if>
          </span>
        </xsl:when>
        <xsl:otherwise>
          <span class="cda-media-missing">[embedded object not shown: only PNG, JPEG and GIF images inside the document are displayed]</span>
        </xsl:otherwise>
      </xsl:choose>
      <xsl:call-template name="render-media-references">
        <xsl:with-param name="references" select="substring-after($references, ' ')"/>
        <xsl:with-param name="caption" select="$caption"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <!-- A data: URI for a base64 PNG, JPEG or GIF value whose data starts like that format;
       nothing for anything else (SVG and other types can carry script). -->
  <xsl:template match="*" mode="image-data-uri">
    <xsl:variable name="media-type" select="translate(normalize-space(@mediaType), $upper-case, $lower-case)"/>
    <xsl:variable name="data" select="translate(., $whitespace, '')"/>
    <xsl:if test="normalize-space(@representation) = 'B64' and $data != '' and translate($data, $base64-characters, '') = ''">
      <xsl:if test="($media-type = 'image/png' and starts-with($data, 'iVBORw0KGg')) or ($media-type = 'image/jpeg' and starts-with($data, '/9j/')) or ($media-type = 'image/gif' and starts-with($data, 'R0lGOD'))">
        <xsl:value-of select="concat('data:', $media-type, ';base64,', $data)"/>
      </xsl:if>
    </xsl:if>
  </xsl:template>

  <!-- ============================================================ attributes -->

  <xsl:template name="is-safe-id">
    <xsl:param name="id"/>
    <xsl:if test="$id != '' and string-length($id) &lt;= 128 and contains($id-first-characters, substring($id, 1, 1)) and translate($id, $id-characters, '') = ''">yes</xsl:if>
  </xsl:template>

  <xsl:template name="id-attribute">
    <xsl:variable name="id" select="normalize-space(@ID)"/>
    <xsl:variable name="safe">
      <xsl:call-template name="is-safe-id">
        <xsl:with-param name="id" select="$id"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:if test="$safe = 'yes'">
      <xsl:attribute name="id"><xsl:value-of select="$id"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- colspan, rowspan and span: whole numbers from 1 to 1000. -->
  <xsl:template name="span-attribute">
    <xsl:param name="name"/>
    <xsl:param name="value"/>
    <xsl:variable name="number" select="normalize-space($value)"/>
    <xsl:if test="$number != '' and string-length($number) &lt;= 4 and translate($number, '0123456789', '') = '' and number($number) &gt;= 1 and number($number) &lt;= 1000">
      <xsl:attribute name="{$name}"><xsl:value-of select="number($number)"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- CSS classes for the styleCode tokens medgate knows, after $extra. -->
  <xsl:template name="class-attribute">
    <xsl:param name="extra" select="''"/>
    <xsl:variable name="codes" select="concat(' ', normalize-space(@styleCode), ' ')"/>
    <xsl:variable name="classes">
      <xsl:value-of select="$extra"/>
      <xsl:if test="contains($codes, ' Bold ')"> cda-bold</xsl:if>
      <xsl:if test="contains($codes, ' Italics ')"> cda-italics</xsl:if>
      <xsl:if test="contains($codes, ' Underline ')"> cda-underline</xsl:if>
      <xsl:if test="contains($codes, ' Emphasis ')"> cda-emphasis</xsl:if>
      <xsl:if test="contains($codes, ' Lrule ')"> cda-lrule</xsl:if>
      <xsl:if test="contains($codes, ' Rrule ')"> cda-rrule</xsl:if>
      <xsl:if test="contains($codes, ' Toprule ')"> cda-toprule</xsl:if>
      <xsl:if test="contains($codes, ' Botrule ')"> cda-botrule</xsl:if>
      <xsl:if test="contains($codes, ' Arabic ')"> cda-list-arabic</xsl:if>
      <xsl:if test="contains($codes, ' LittleRoman ')"> cda-list-littleroman</xsl:if>
      <xsl:if test="contains($codes, ' BigRoman ')"> cda-list-bigroman</xsl:if>
      <xsl:if test="contains($codes, ' LittleAlpha ')"> cda-list-littlealpha</xsl:if>
      <xsl:if test="contains($codes, ' BigAlpha ')"> cda-list-bigalpha</xsl:if>
      <xsl:if test="contains($codes, ' Disc ')"> cda-list-disc</xsl:if>
      <xsl:if test="contains($codes, ' Circle ')"> cda-list-circle</xsl:if>
      <xsl:if test="contains($codes, ' Square ')"> cda-list-square</xsl:if>
    </xsl:variable>
    <xsl:if test="normalize-space($classes) != ''">
      <xsl:attribute name="class"><xsl:value-of select="normalize-space($classes)"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

</xsl:stylesheet>
